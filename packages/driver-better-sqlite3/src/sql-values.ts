/**
 * Conversion between `SqlValue` and what better-sqlite3 binds and returns, so that every mode of
 * this driver (and every other driver) reads and binds values the same way.
 *
 * @module
 */

import type { SqlRow, SqlValue } from '@oversync/client';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Converts one value read with `safeIntegers(true)`: safe integers become numbers and the rest
 * stay bigint, so int64 never loses precision; BLOBs become plain `Uint8Array`s.
 *
 * @example
 * ```ts
 * readValue(42n); // 42
 * readValue(2n ** 62n); // 4611686018427387904n
 * ```
 */
export function readValue(value: unknown): SqlValue {
  if (typeof value === 'bigint') {
    return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value;
  }
  // better-sqlite3 returns Buffers. Code that works on Node must not come to rely on Buffer
  // behaviour (`toString()` as UTF-8, `equals`) that browser and React Native drivers lack, and a
  // plain view over the same memory costs no copy.
  if (value instanceof Uint8Array && Object.getPrototypeOf(value) !== Uint8Array.prototype) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return value as SqlValue;
}

/**
 * Converts every column of a row in place with {@link readValue} and returns it.
 *
 * @example
 * ```ts
 * readRow({ id: 1n, data: Buffer.from([1]) }); // { id: 1, data: Uint8Array [1] }
 * ```
 */
export function readRow(row: Record<string, unknown>): SqlRow {
  for (const key in row) row[key] = readValue(row[key]);
  return row as SqlRow;
}

/**
 * Converts one bound value. better-sqlite3 binds every JS number as REAL; safe integers must bind
 * as INTEGER so that `typeof(x) = 'integer'` and INTEGER PRIMARY KEY lookups behave as in every
 * other driver.
 *
 * @example
 * ```ts
 * bindValue(7); // 7n (INTEGER)
 * bindValue(1.5); // 1.5 (REAL)
 * ```
 */
export function bindValue(value: SqlValue): unknown {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return value;
}

/**
 * Converts a parameter list with {@link bindValue}; `undefined` means no parameters.
 *
 * @example
 * ```ts
 * stmt.run(...bindParams([1, 'milk']));
 * ```
 */
export function bindParams(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = bindValue(params[i] as SqlValue);
  return out;
}
