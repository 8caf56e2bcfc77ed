/**
 * G2 hash inputs (`canonical_request_hash`, `bundle_hash`) and SHA-256.
 *
 * The inputs are built as canonical JSON text synchronously, so a server can hash, store or
 * compare them without awaiting; only the digest itself is asynchronous (Web Crypto).
 *
 * @module
 */

import { canonicalJson, canonicalJsonString } from './canonical-json.js';

/** Row operation names as they appear on the wire and in hash inputs. */
type RowOp = 'INSERT' | 'UPDATE' | 'DELETE';

/**
 * One uploaded row as it enters `canonical_request_hash`.
 *
 * `payload` is the wire payload object exactly as uploaded; `null` or `undefined` (DELETE) hash
 * as JSON `null`.
 *
 * @example
 * ```ts
 * const row: PushHashRow = {
 *   schema: 'main', table: 'users', key: { id: 'u1' }, op: 'INSERT',
 *   baseRowVersion: 0, payload: { id: 'u1', name: 'Ada' },
 * };
 * ```
 */
export interface PushHashRow {
  schema: string;
  table: string;
  key: Record<string, string>;
  op: RowOp;
  baseRowVersion: string | number | bigint;
  payload: unknown;
}

/**
 * One committed row as it enters `bundle_hash`.
 *
 * @example
 * ```ts
 * const row: BundleHashRow = {
 *   schema: 'main', table: 'users', key: { id: 'u1' }, op: 'DELETE', rowVersion: 7n, payload: null,
 * };
 * ```
 */
export interface BundleHashRow {
  schema: string;
  table: string;
  key: Record<string, string>;
  op: RowOp;
  rowVersion: string | number | bigint;
  payload: unknown;
}

/**
 * A committed row whose payload is already canonical JSON text (as a server stores it).
 *
 * @example
 * ```ts
 * const row: CanonicalBundleHashRow = {
 *   schema: 'main', table: 'users', keyColumn: 'id', key: 'u1', op: 'INSERT',
 *   rowVersion: '3', payloadJson: '{"id":"u1","name":"Ada"}',
 * };
 * ```
 */
export interface CanonicalBundleHashRow {
  schema: string;
  table: string;
  keyColumn: string;
  key: string;
  op: string;
  rowVersion: string;
  /** Canonical (JCS) JSON text of the payload object, or `null` for DELETE. */
  payloadJson: string | null;
}

const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** Hash inputs carry versions as decimal strings, so every accepted spelling must be exact. */
function decimalText(value: string | number | bigint, what: string): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`${what} must be a safe integer, got ${String(value)}`);
    }
    return String(value);
  }
  if (!CANONICAL_INTEGER.test(value)) {
    throw new RangeError(`${what} must be a canonical decimal integer string, got ${value}`);
  }
  return value;
}

/**
 * Canonical JSON text whose SHA-256 is `canonical_request_hash`.
 *
 * Each row becomes `{"row_ordinal":"<i>","schema","table","key","op","base_row_version":"<n>",
 * "payload"}` with the 0-based upload position as `i`; the array is JCS-encoded.
 *
 * @example
 * ```ts
 * const input = pushRequestHashInput(rows);
 * const canonical_request_hash = await sha256Hex(input);
 * ```
 */
export function pushRequestHashInput(rows: readonly PushHashRow[]): string {
  return canonicalJson(
    rows.map((row, i) => ({
      row_ordinal: String(i),
      schema: row.schema,
      table: row.table,
      key: row.key,
      op: row.op,
      base_row_version: decimalText(row.baseRowVersion, 'base_row_version'),
      payload: row.payload ?? null,
    })),
  );
}

/**
 * Canonical JSON text whose SHA-256 is `bundle_hash`.
 *
 * Each committed row becomes `{"row_ordinal":"<i>","schema","table","key","op",
 * "row_version":"<v>","payload"}` in stream order; the array is JCS-encoded.
 *
 * @example
 * ```ts
 * const bundle_hash = await sha256Hex(bundleHashInput(rows));
 * ```
 */
export function bundleHashInput(rows: readonly BundleHashRow[]): string {
  return canonicalJson(
    rows.map((row, i) => ({
      row_ordinal: String(i),
      schema: row.schema,
      table: row.table,
      key: row.key,
      op: row.op,
      row_version: decimalText(row.rowVersion, 'row_version'),
      payload: row.payload ?? null,
    })),
  );
}

/**
 * Same bytes as {@link bundleHashInput}, concatenated from already-canonical payload text.
 *
 * This is the server hot path: payloads are stored as JCS text, so re-parsing and re-sorting them
 * for every commit would be wasted work. The caller guarantees that `payloadJson` is canonical;
 * nothing here re-checks it.
 *
 * @example
 * ```ts
 * const input = bundleHashInputFromCanonicalPayloads([
 *   { schema: 'main', table: 'users', keyColumn: 'id', key: 'u1', op: 'INSERT',
 *     rowVersion: '1', payloadJson: '{"id":"u1"}' },
 * ]);
 * ```
 */
export function bundleHashInputFromCanonicalPayloads(
  rows: readonly CanonicalBundleHashRow[],
): string {
  const parts: string[] = ['['];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as CanonicalBundleHashRow;
    if (i > 0) parts.push(',');
    // Members are written in JCS order: key, op, payload, row_ordinal, row_version, schema, table.
    parts.push(
      '{"key":{',
      canonicalJsonString(row.keyColumn),
      ':',
      canonicalJsonString(row.key),
      '},"op":',
      canonicalJsonString(row.op),
      ',"payload":',
      row.payloadJson ?? 'null',
      ',"row_ordinal":"',
      String(i),
      '","row_version":"',
      decimalText(row.rowVersion, 'row_version'),
      '","schema":',
      canonicalJsonString(row.schema),
      ',"table":',
      canonicalJsonString(row.table),
      '}',
    );
  }
  parts.push(']');
  return parts.join('');
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/**
 * Lowercase hex SHA-256 of the UTF-8 bytes of `text`, via Web Crypto (Node, Deno, Bun, browsers).
 *
 * @example
 * ```ts
 * await sha256Hex('abc'); // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 * ```
 */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += HEX[byte];
  return hex;
}

/**
 * `canonical_request_hash` of an upload: SHA-256 of {@link pushRequestHashInput}.
 *
 * @example
 * ```ts
 * const canonical_request_hash = await pushRequestHash(rows);
 * ```
 */
export function pushRequestHash(rows: readonly PushHashRow[]): Promise<string> {
  return sha256Hex(pushRequestHashInput(rows));
}

/**
 * `bundle_hash` of a committed bundle: SHA-256 of {@link bundleHashInput}.
 *
 * @example
 * ```ts
 * const bundle_hash = await bundleHash(rows);
 * ```
 */
export function bundleHash(rows: readonly BundleHashRow[]): Promise<string> {
  return sha256Hex(bundleHashInput(rows));
}
