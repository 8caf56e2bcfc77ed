/**
 * G1 (go-oversync) `bundle_hash` and `byte_count` of a committed bundle (protocol.md §2.8).
 *
 * This module stays free of Node APIs because the protocol package is shared with browser
 * clients: the digest uses Web Crypto. A server that wants a synchronous digest hashes
 * {@link g1BundleHashInput} itself (e.g. `createHash('sha256').update(input, 'utf8')`).
 *
 * @module
 */

import { appendGoCanonicalJson, goNumberText } from './go-canonical-json.js';
import type { LosslessValue } from './lossless-json.js';

/**
 * One committed row as it enters the G1 `bundle_hash`.
 *
 * `rowVersion` is the bundle sequence (`row_version` on the wire), as a `bigint` or a decimal
 * integer string. `payload` is the parsed payload for INSERT/UPDATE; it is ignored (hashed as
 * `null`) for DELETE.
 *
 * @example
 * ```ts
 * const row: G1HashRow = {
 *   schema: 'business', table: 'users', key: { id: '550e8400-e29b-41d4-a716-446655440000' },
 *   op: 'INSERT', rowVersion: 143n, payload: parseLosslessJson('{"name":"John Doe"}'),
 * };
 * ```
 */
export interface G1HashRow {
  schema: string;
  table: string;
  key: Record<string, string>;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  rowVersion: bigint | string;
  payload: LosslessValue | null;
}

/** Decimal integer, as `row_version` must be spelled. */
function isIntegerLiteral(s: string): boolean {
  const len = s.length;
  let i = s.charCodeAt(0) === 0x2d ? 1 : 0;
  if (i === len) return false;
  if (s.charCodeAt(i) === 0x30) return i + 1 === len;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function rowVersionText(version: bigint | string): string {
  if (typeof version === 'bigint') return goNumberText(version.toString());
  if (typeof version !== 'string' || !isIntegerLiteral(version)) {
    throw new RangeError(
      `row_version must be a bigint or a decimal integer string, got ${String(version)}`,
    );
  }
  // Go re-parses the envelope into float64 like any other number, so a version above 2^53 is
  // rounded in the hash input exactly as the Go server and client round it.
  return goNumberText(version);
}

/**
 * The canonical text whose SHA-256 is the G1 `bundle_hash` and whose UTF-8 length is its
 * `byte_count`.
 *
 * Row `i` becomes `{"row_ordinal":i,"schema","table","key","op","row_version","payload"}`
 * (`row_ordinal` and `row_version` are JSON numbers; `payload` is `null` for DELETE); the array of
 * rows in bundle order is written as Go canonical JSON, so members appear as
 * `key, op, payload, row_ordinal, row_version, schema, table`. The envelope is written directly in
 * that order; only `key` and `payload` go through the general canonicaliser.
 *
 * @throws RangeError for a malformed `rowVersion`; whatever `goCanonicalJson` throws for the key
 *   or payload.
 *
 * @example
 * ```ts
 * g1BundleHashInput([
 *   { schema: 'business', table: 'users', key: { id: 'u-2' }, op: 'DELETE', rowVersion: 7n, payload: null },
 * ]);
 * // '[{"key":{"id":"u-2"},"op":"DELETE","payload":null,"row_ordinal":0,"row_version":7,"schema":"business","table":"users"}]'
 * ```
 */
export function g1BundleHashInput(rows: readonly G1HashRow[]): string {
  let out = '[';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as G1HashRow;
    out = appendGoCanonicalJson(`${out}${i === 0 ? '{"key":' : ',{"key":'}`, row.key, 2);
    out = appendGoCanonicalJson(`${out},"op":`, row.op, 2);
    out = appendGoCanonicalJson(
      `${out},"payload":`,
      row.op === 'DELETE' ? null : (row.payload ?? null),
      2,
    );
    out += `,"row_ordinal":${i},"row_version":${rowVersionText(row.rowVersion)}`;
    out = appendGoCanonicalJson(`${out},"schema":`, row.schema, 2);
    out = `${appendGoCanonicalJson(`${out},"table":`, row.table, 2)}}`;
  }
  return `${out}]`;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * G1 `bundle_hash` (lowercase hex SHA-256) and `byte_count` (UTF-8 bytes) of a committed bundle,
 * both over {@link g1BundleHashInput}. Uses Web Crypto (Node ≥ 20, Deno, Bun, browsers).
 *
 * @example
 * ```ts
 * const { bundleHash, byteCount } = await g1BundleHash(rows);
 * // for protocol.md §2.8 v1_single_insert:
 * // bundleHash '0ab2b08d01bb7da478119a608463e98fe6ce37ee7cdf4b63d1dc4d5894c81f28', byteCount 240
 * ```
 */
export async function g1BundleHash(
  rows: readonly G1HashRow[],
): Promise<{ bundleHash: string; byteCount: number }> {
  const bytes = new TextEncoder().encode(g1BundleHashInput(rows));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  let bundleHash = '';
  for (const byte of digest) bundleHash += HEX[byte];
  return { bundleHash, byteCount: bytes.length };
}
