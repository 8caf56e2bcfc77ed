/**
 * Conversion between the three forms a managed row takes (client-internals §2.2, G2 contract):
 *
 * - **local JSON** — what the capture triggers write into `_sync_dirty_rows.payload` / `key_json`
 *   (INTEGER as `CAST(… AS TEXT)`, REAL as `printf('%!.17g', …)`, BLOB as lower-case hex);
 * - **wire JSON** — what is uploaded and what the server sends (INTEGER/REAL as canonical
 *   strings, BLOB as standard base64, UUID BLOB as dashed lower-case UUID);
 * - **SQLite bind values** — what an authoritative write binds, in `table.columns` order.
 *
 * Local decoding is tolerant (the data was produced by this device); wire decoding is strict
 * (the server is authoritative for spelling, and anything non-canonical is a protocol error
 * raised before any mutation). int64 values never pass through a JS `number`.
 *
 * @module
 */

import {
  base64ToBytes,
  bytesToBase64,
  canonicalFloatText,
  isCanonicalInt64String,
  isStandardBase64,
  validateWireValue,
  type WireFamily,
} from '@oversync/protocol';
import type { SqlExecutor, SqlValue } from '../driver/driver.js';
import { clientError } from '../errors.js';
import { RESERVED_SCOPE_COLUMN } from './config-validation.js';
import type { ManagedColumn, ManagedTable } from './local-schema-types.js';
import { columnSqlName, quoteIdent } from './table-info.js';
import { payloadExpression } from './triggers.js';

/**
 * What the codec needs to know about a table (any {@link ManagedTable} fits).
 *
 * @example
 * ```ts
 * const t: CodecTable = schema.byName.get('users') as ManagedTable;
 * ```
 */
export type CodecTable = Pick<ManagedTable, 'tableName' | 'keyColumn' | 'keyKind' | 'columns'>;

const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const HEX = /^[0-9a-fA-F]*$/;
const DASHED_UUID_ANY_CASE =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ---------------------------------------------------------------------------------------------
// errors

function localError(table: CodecTable, message: string, column?: string): Error {
  // Local data the runtime itself captured cannot be encoded: almost always a column whose
  // declared type does not match what the app stores in it (client-internals §2.2 "Trap").
  return clientError('configuration', `${table.tableName}: ${message}`, {
    table: table.tableName,
    ...(column === undefined ? {} : { column }),
  });
}

function wireError(table: CodecTable, message: string, column?: string, category?: string): Error {
  return clientError('protocol_error', `${table.tableName}: ${message}`, {
    table: table.tableName,
    ...(column === undefined ? {} : { column }),
    ...(category === undefined ? {} : { category }),
  });
}

// ---------------------------------------------------------------------------------------------
// small pure helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseObject(text: string, onError: (msg: string) => Error): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw onError('is not valid JSON');
  }
  if (!isPlainObject(parsed)) throw onError('is not a JSON object');
  return parsed;
}

const HEX_DIGITS = '0123456789abcdef';

function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS.charAt(b >> 4) + HEX_DIGITS.charAt(b & 15);
  return out;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function hexToDashedUuid(hex32: string): string {
  const h = hex32.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function columnOf(table: CodecTable, name: string): ManagedColumn {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new Error(`table ${table.tableName} has no column ${name}`);
  return column;
}

/** `%g` layout of significant `digits` whose first digit has decimal exponent `exp`. */
function gLayout(sign: string, rawDigits: string, exp: number): string {
  const digits = rawDigits.replace(/0+$/, '') || '0';
  if (exp < -4 || exp >= 17) {
    const e = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${digits.charAt(0)}.${digits.slice(1) || '0'}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp >= 0) {
    return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, '0')}.${digits.slice(exp + 1) || '0'}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** True when `digits` × 10^(exp − digits.length + 1) is exactly the double `x`. */
function denotes(x: number, sign: string, digits: string, exp: number): boolean {
  return Number(`${sign}${digits.charAt(0)}.${digits.slice(1) || '0'}e${exp}`) === x;
}

/**
 * The text of SQLite's `printf('%!.17g', x)` — the REAL spelling of the capture triggers — for a
 * finite double, following SQLite 3.53: 18 significant digits are generated; when they end in
 * `…99x` or `…000x` (or the value is integer-sized) a shorter spelling is used if it still denotes
 * the same double (so 0.1 prints as `0.1`, not `0.10000000000000001`); otherwise they are rounded
 * half-up to 17. Layout: trailing zeros dropped but one fractional digit kept; exponent form (at
 * least two exponent digits) below 1e-4 and from 1e17 up.
 *
 * Not byte-exact for every double: SQLite generates the digits with approximate arithmetic
 * (about 0.4% of random doubles differ in the last digit from the correctly rounded digits used
 * here), and other SQLite versions shorten differently or not at all. Every spelling denotes the
 * same double, so compare payloads with {@link localPayloadsEquivalent}, and use
 * {@link renderLocalPayloadJson} for the exact bytes of the running SQLite.
 *
 * @example
 * ```ts
 * sqliteRealText(1); // '1.0'
 * sqliteRealText(1e21); // '1.0e+21'
 * sqliteRealText(0.1); // '0.1'
 * sqliteRealText(5e-324); // '4.9406564584124654e-324'
 * ```
 */
export function sqliteRealText(x: number): string {
  if (!Number.isFinite(x)) throw new TypeError(`REAL value ${String(x)} is not finite`);
  // SQLite prints both zeros as 0.0 (its decoder tests r == 0.0 before looking at the sign).
  if (x === 0) return '0.0';
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential(17));
  if (!m) throw new TypeError(`cannot format ${x}`);
  const sign = m[1] as string;
  const digits = `${m[2]}${m[3] ?? ''}`; // exactly 18
  const exp = Number(m[4]);
  if (digits.charAt(15) === '9' && digits.charAt(14) === '9') {
    // …99x: try rounding up at the last digit before the run of nines.
    let keep = 14;
    while (keep > 0 && digits.charAt(keep - 1) === '9') keep--;
    // The kept prefix ends in a non-9 digit, so +1 never carries into a new digit.
    const up = keep === 0 ? '1' : (BigInt(digits.slice(0, keep)) + 1n).toString();
    const upExp = keep === 0 ? exp + 1 : exp;
    if (denotes(x, sign, up, upExp)) return gLayout(sign, up, upExp);
  } else if (exp + 1 >= 18 || digits.slice(13, 16) === '000') {
    // …000x (or an integer-sized value): try dropping the trailing digits.
    let keep = 13;
    while (keep > 1 && digits.charAt(keep - 1) === '0') keep--;
    const short = digits.slice(0, keep);
    if (denotes(x, sign, short, exp)) return gLayout(sign, short, exp);
  }
  // Round the 18 digits half-up to 17, as SQLite does.
  let rounded = digits.slice(0, 17);
  let roundedExp = exp;
  if (digits.charAt(17) >= '5') {
    const bumped = (BigInt(rounded) + 1n).toString();
    if (bumped.length > 17) {
      rounded = bumped.slice(0, 17);
      roundedExp = exp + 1;
    } else {
      rounded = bumped;
    }
  }
  return gLayout(sign, rounded, roundedExp);
}

// ---------------------------------------------------------------------------------------------
// local JSON → typed values (tolerant)

/** A decoded column value; `integer` and `real` keep their canonical wire text. */
type Typed =
  | { readonly t: 'null' }
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'integer'; readonly v: string }
  | { readonly t: 'real'; readonly v: string }
  | { readonly t: 'bytes'; readonly v: Uint8Array };

const NULL: Typed = Object.freeze({ t: 'null' });

function decodeLocalBytes(value: string): Uint8Array | undefined {
  if (value.length % 2 === 0 && HEX.test(value)) return hexToBytes(value);
  if (isStandardBase64(value)) return base64ToBytes(value);
  return undefined;
}

function decodeLocalUuid(value: string): Uint8Array | undefined {
  if (DASHED_UUID_ANY_CASE.test(value)) return hexToBytes(value.replaceAll('-', ''));
  if (value.length === 32 && HEX.test(value)) return hexToBytes(value);
  if (isStandardBase64(value)) {
    const bytes = base64ToBytes(value);
    if (bytes.length === 16) return bytes;
  }
  return undefined;
}

function decodeLocalValue(table: CodecTable, column: ManagedColumn, value: unknown): Typed {
  if (value === null) return NULL;
  const where = `${table.tableName}.${column.name}`;
  switch (column.kind) {
    case 'text':
      if (typeof value !== 'string') {
        throw localError(
          table,
          `TEXT column ${where} holds a ${typeof value} (${JSON.stringify(value)}); TEXT requires a JSON string — store text in it or declare it INTEGER/REAL`,
          column.name,
        );
      }
      return { t: 'text', v: value };
    case 'integer':
      if (typeof value === 'boolean') return { t: 'integer', v: value ? '1' : '0' };
      if (typeof value === 'string' && isCanonicalInt64String(value)) {
        return { t: 'integer', v: value };
      }
      throw localError(
        table,
        `INTEGER column ${where} holds ${JSON.stringify(value)}, which is not a signed 64-bit integer`,
        column.name,
      );
    case 'real': {
      // Local REAL text comes from printf('%!.17g') (e.g. "1.0e+21"), which round-trips exactly;
      // a JSON number is accepted for payloads written before numeric strings.
      const text =
        typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
      const x = JSON_NUMBER.test(text) ? Number(text) : Number.NaN;
      if (!Number.isFinite(x)) {
        throw localError(
          table,
          `REAL column ${where} holds ${JSON.stringify(value)}; only finite numbers can be synced`,
          column.name,
        );
      }
      return { t: 'real', v: canonicalFloatText(x) };
    }
    case 'blob':
    case 'uuid_blob': {
      const bytes =
        typeof value === 'string'
          ? column.kind === 'blob'
            ? decodeLocalBytes(value)
            : decodeLocalUuid(value)
          : undefined;
      if (!bytes) {
        throw localError(
          table,
          column.kind === 'blob'
            ? `BLOB column ${where} holds ${JSON.stringify(value)}, which is not hex or base64`
            : `UUID column ${where} holds ${JSON.stringify(value)}, which is not a 16-byte UUID`,
          column.name,
        );
      }
      return { t: 'bytes', v: bytes };
    }
  }
}

function typedToWire(column: ManagedColumn, typed: Typed): string | null {
  switch (typed.t) {
    case 'null':
      return null;
    case 'text':
    case 'integer':
    case 'real':
      return typed.v;
    case 'bytes':
      return column.kind === 'uuid_blob'
        ? hexToDashedUuid(bytesToHex(typed.v))
        : bytesToBase64(typed.v);
  }
}

/**
 * Converts a local payload (trigger JSON) to its upload form, keys in table-column order:
 * TEXT as is (non-string → error), INTEGER as the canonical int64 string (`true`/`false` →
 * `"1"`/`"0"`), REAL `%!.17g` text → shortest ECMAScript spelling (`-0` → `"0"`, NaN/Inf
 * rejected), BLOB hex → standard base64, UUID BLOB hex → dashed lower-case UUID. Keys of columns
 * no longer in the table are dropped; a missing column is an error. Throws `configuration`.
 *
 * @example
 * ```ts
 * localPayloadToWire(typedRows, '{"id":"t-1","count_value":"42","rating":"1.25","data":"cafebabe"}');
 * // { id: 't-1', count_value: '42', rating: '1.25', data: 'yv66vg==' }
 * ```
 */
export function localPayloadToWire(
  table: CodecTable,
  localJson: string,
): Record<string, string | null> {
  const obj = parseObject(localJson, (m) => localError(table, `local payload ${m}`));
  const out: Record<string, string | null> = {};
  for (const column of table.columns) {
    if (!Object.hasOwn(obj, column.name)) {
      throw localError(table, `local payload has no value for column ${column.name}`, column.name);
    }
    out[column.name] = typedToWire(column, decodeLocalValue(table, column, obj[column.name]));
  }
  return out;
}

function localKeyValue(
  table: CodecTable,
  keyJson: string,
): { column: ManagedColumn; typed: Typed } {
  const obj = parseObject(keyJson, (m) => localError(table, `key_json ${m}`));
  const column = columnOf(table, table.keyColumn);
  const names = Object.keys(obj);
  if (names.length !== 1 || names[0] !== column.name) {
    throw localError(table, `key_json ${keyJson} must name exactly the key column ${column.name}`);
  }
  const typed = decodeLocalValue(table, column, obj[column.name]);
  if (typed.t === 'null') throw localError(table, `key_json ${keyJson} has a null key`);
  return { column, typed };
}

/**
 * Converts a local `key_json` (`{"id":"…"}`, blob keys as hex) to the wire key
 * (`{"id":"…"}`, blob keys as dashed lower-case UUIDs). Throws `configuration`.
 *
 * @example
 * ```ts
 * localKeyJsonToWireKey(files, '{"id":"00112233445566778899aabbccddeeff"}');
 * // { id: '00112233-4455-6677-8899-aabbccddeeff' }
 * ```
 */
export function localKeyJsonToWireKey(table: CodecTable, keyJson: string): Record<string, string> {
  const { column, typed } = localKeyValue(table, keyJson);
  return { [column.name]: typedToWire(column, typed) as string };
}

/**
 * The SQLite value of a row's key from its local `key_json` (blob keys are hex there).
 *
 * @example
 * ```ts
 * localKeyJsonToBindValue(users, '{"id":"u-1"}'); // 'u-1'
 * ```
 */
export function localKeyJsonToBindValue(table: CodecTable, keyJson: string): SqlValue {
  const { typed } = localKeyValue(table, keyJson);
  return typed.t === 'bytes' ? typed.v : (typed as { v: string }).v;
}

// ---------------------------------------------------------------------------------------------
// wire → typed values (strict)

const FAMILY: Readonly<Record<ManagedColumn['kind'], WireFamily>> = {
  text: 'text',
  integer: 'integer',
  real: 'float',
  blob: 'blob',
  uuid_blob: 'uuid',
};

function decodeWireValue(table: CodecTable, column: ManagedColumn, value: unknown): Typed {
  if (value === null) return NULL;
  // The server echoes PostgreSQL booleans as JSON true/false for SQLite INTEGER 0/1 columns.
  if (column.kind === 'integer' && typeof value === 'boolean') {
    return { t: 'integer', v: value ? '1' : '0' };
  }
  const verdict = validateWireValue(FAMILY[column.kind], value);
  if (!verdict.ok) {
    throw wireError(
      table,
      `invalid value for ${column.kind.toUpperCase()} column ${column.name}: ${verdict.message}`,
      column.name,
      verdict.category,
    );
  }
  const s = value as string;
  switch (column.kind) {
    case 'text':
      if (LONE_SURROGATE.test(s)) {
        throw wireError(table, `text for ${column.name} has an unpaired surrogate`, column.name);
      }
      return { t: 'text', v: s };
    case 'integer':
      return { t: 'integer', v: s };
    case 'real':
      return { t: 'real', v: s };
    case 'blob':
      return { t: 'bytes', v: base64ToBytes(s) };
    case 'uuid_blob':
      return { t: 'bytes', v: hexToBytes(s.replaceAll('-', '')) };
  }
}

function decodeWirePayload(table: CodecTable, payload: unknown): Typed[] {
  if (!isPlainObject(payload)) {
    throw wireError(table, `payload for ${table.tableName} must be a JSON object`);
  }
  const names = Object.keys(payload);
  const expected = new Set(table.columns.map((c) => c.name));
  const missing = table.columns.map((c) => c.name).filter((n) => !Object.hasOwn(payload, n));
  const extra = names.filter((n) => !expected.has(n));
  if (missing.length > 0 || extra.length > 0) {
    const scope = extra.includes(RESERVED_SCOPE_COLUMN)
      ? ` (${RESERVED_SCOPE_COLUMN} is server-only)`
      : '';
    throw clientError(
      'protocol_error',
      `payload for ${table.tableName} must contain every table column and nothing else${scope}; missing: [${missing.join(', ')}], unexpected: [${extra.join(', ')}]`,
      { table: table.tableName, missing, unexpected: extra },
    );
  }
  return table.columns.map((c) => decodeWireValue(table, c, payload[c.name]));
}

function typedToBind(typed: Typed): SqlValue {
  switch (typed.t) {
    case 'null':
      return null;
    case 'text':
      return typed.v;
    case 'integer':
      // bigint binds as INTEGER exactly over the whole int64 range.
      return BigInt(typed.v);
    case 'real':
      return Number(typed.v);
    case 'bytes':
      return typed.v;
  }
}

/**
 * Strictly decodes an authoritative wire payload into bind values in `table.columns` order:
 * exactly every column, nothing extra (no `_sync_scope_id`); INTEGER = canonical int64 string or
 * JSON boolean → `bigint`; REAL = canonical binary64 string → `number`; BLOB = strict base64 →
 * `Uint8Array`; UUID BLOB = canonical dashed lower-case UUID → 16 bytes; TEXT = string.
 * Throws `protocol_error` before anything is written.
 *
 * @example
 * ```ts
 * await tx.run(upsertSql(users), wirePayloadToRow(users, { id: 'u-1', name: 'Ada' }));
 * ```
 */
export function wirePayloadToRow(table: CodecTable, payload: unknown): SqlValue[] {
  return decodeWirePayload(table, payload).map(typedToBind);
}

function jsonText(typed: Typed): string {
  switch (typed.t) {
    case 'null':
      return 'null';
    case 'text':
    case 'integer':
      return JSON.stringify(typed.v);
    case 'real':
      return JSON.stringify(sqliteRealText(Number(typed.v)));
    case 'bytes':
      return JSON.stringify(bytesToHex(typed.v));
  }
}

/**
 * The local JSON (trigger spelling, compact, table-column order, as SQLite `json_object` writes
 * it) of the row a wire payload describes. Validates strictly like {@link wirePayloadToRow}.
 *
 * Exact for TEXT, INTEGER, BLOB and UUID columns. REAL columns use {@link sqliteRealText}, which
 * can differ from SQLite's own `%!.17g` in the 17th digit; compare with
 * {@link localPayloadsEquivalent}, or get SQLite's bytes with {@link renderLocalPayloadJson}.
 *
 * @example
 * ```ts
 * wirePayloadToLocalJson(files, { id: '00112233-4455-6677-8899-aabbccddeeff', name: 'a', payload: 'aGk=' });
 * // '{"id":"00112233445566778899aabbccddeeff","name":"a","payload":"6869"}'
 * ```
 */
export function wirePayloadToLocalJson(table: CodecTable, payload: unknown): string {
  const typed = decodeWirePayload(table, payload);
  const parts = table.columns.map(
    (c, i) => `${JSON.stringify(c.name)}:${jsonText(typed[i] as Typed)}`,
  );
  return `{${parts.join(',')}}`;
}

/**
 * Byte-exact local JSON of the row a wire payload describes, rendered by SQLite with the very
 * expression the capture triggers use (so REAL spelling matches this SQLite build). Exact as long
 * as each column's declared type has the affinity its kind implies (TEXT/INTEGER/REAL/BLOB).
 *
 * @example
 * ```ts
 * const local = await renderLocalPayloadJson(tx, typedRows, serverPayload);
 * ```
 */
export async function renderLocalPayloadJson(
  db: SqlExecutor,
  table: CodecTable,
  payload: unknown,
): Promise<string> {
  const values = wirePayloadToRow(table, payload);
  const select = table.columns.map((c) => `? AS ${quoteIdent(columnSqlName(c))}`).join(', ');
  const row = await db.get<{ payload: string }>(
    `SELECT ${payloadExpression(table, 'wire_row')} AS payload FROM (SELECT ${select}) AS wire_row`,
    values,
  );
  return String(row?.payload);
}

/**
 * Converts a wire key (`{"id":"…"}`, UUID keys dashed) to the local `key_json` text exactly as
 * SQLite's `json_object` writes it (`{"id":"…"}`, UUID keys as 32 hex digits). Strict.
 *
 * @example
 * ```ts
 * wireKeyToLocalKeyJson(users, { id: 'abc' }); // '{"id":"abc"}'
 * ```
 */
export function wireKeyToLocalKeyJson(table: CodecTable, wireKey: unknown): string {
  const { column, typed } = decodeWireKey(table, wireKey);
  return `{${JSON.stringify(column.name)}:${jsonText(typed)}}`;
}

function decodeWireKey(
  table: CodecTable,
  wireKey: unknown,
): { column: ManagedColumn; typed: Typed } {
  const column = columnOf(table, table.keyColumn);
  if (!isPlainObject(wireKey)) throw wireError(table, 'row key must be a JSON object');
  const names = Object.keys(wireKey);
  if (names.length !== 1 || names[0] !== column.name) {
    throw wireError(
      table,
      `row key must contain exactly the sync key column ${column.name}, got [${names.join(', ')}]`,
    );
  }
  const typed = decodeWireValue(table, column, wireKey[column.name]);
  if (typed.t === 'null')
    throw wireError(table, `row key ${column.name} must not be null`, column.name);
  return { column, typed };
}

/**
 * The SQLite bind value of a wire key (`{"id":"…"}`): the text, or 16 bytes for a UUID key.
 *
 * @example
 * ```ts
 * await tx.run(deleteSql(files), [wireKeyToBindValue(files, { id: '00112233-4455-6677-8899-aabbccddeeff' })]);
 * ```
 */
export function wireKeyToBindValue(table: CodecTable, key: unknown): SqlValue {
  return typedToBind(decodeWireKey(table, key).typed);
}

function sameTyped(a: Typed, b: Typed): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'bytes') return bytesToHex(a.v) === bytesToHex((b as { v: Uint8Array }).v);
  if (a.t === 'null') return true;
  return a.v === (b as { v: string }).v;
}

/**
 * True when two local payloads (or `null` for "no row") describe the same row values under the
 * table's column semantics: REAL compared as binary64 (so SQLite's 17th-digit spelling does not
 * matter), INTEGER as int64, BLOB as bytes (hex or base64), TEXT exactly. Payloads that do not
 * list exactly the table's columns, or do not decode, are not equivalent.
 *
 * @example
 * ```ts
 * localPayloadsEquivalent(t, '{"id":"a","r":"0.10000000000000001"}', '{"id":"a","r":"0.1"}'); // true
 * ```
 */
export function localPayloadsEquivalent(
  table: CodecTable,
  left: string | null,
  right: string | null,
): boolean {
  if (left === null || right === null) return left === right;
  try {
    const a = parseObject(left, (m) => new Error(m));
    const b = parseObject(right, (m) => new Error(m));
    const n = table.columns.length;
    if (Object.keys(a).length !== n || Object.keys(b).length !== n) return false;
    return table.columns.every(
      (c) =>
        Object.hasOwn(a, c.name) &&
        Object.hasOwn(b, c.name) &&
        sameTyped(decodeLocalValue(table, c, a[c.name]), decodeLocalValue(table, c, b[c.name])),
    );
  } catch {
    return false;
  }
}
