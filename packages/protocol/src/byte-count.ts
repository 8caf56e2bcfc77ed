/**
 * The snapshot `byte_count` definition.
 *
 * A row's byte count is the UTF-8 length of its canonical JSON encoding
 * (`{"key","payload","row_version","schema","table"}`); chunk and session `byte_count` are sums of
 * row byte counts. Clients only check consistency, so the definition just has to be applied the
 * same way everywhere, and canonical JSON makes it independent of member order.
 *
 * @module
 */

import { canonicalJson, canonicalJsonString } from './canonical-json.js';
import type { SnapshotRow } from './messages/snapshot.js';

/**
 * Number of bytes `text` occupies in UTF-8, counted without encoding it. A lone surrogate counts
 * 3 bytes, the size of the U+FFFD that `TextEncoder` substitutes.
 *
 * @example
 * ```ts
 * utf8ByteLength('café'); // 5
 * utf8ByteLength('😀'); // 4
 * ```
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/**
 * Byte count of one snapshot row: UTF-8 length of its canonical JSON. `row_version` may be a
 * `bigint` (as read from an int8 column); it is rendered as the same JSON number.
 *
 * @example
 * ```ts
 * snapshotRowByteCount({
 *   schema: 'main', table: 'users', key: { id: 'adopted-user-1' }, row_version: 1,
 *   payload: { id: 'adopted-user-1', name: 'Adopted' },
 * }); // 130
 * ```
 */
export function snapshotRowByteCount(
  row: Omit<SnapshotRow, 'row_version'> & { row_version: number | bigint },
): number {
  return utf8ByteLength(canonicalJson(row));
}

/**
 * A snapshot row whose payload is already canonical JSON text (as a server stores it).
 *
 * @example
 * ```ts
 * const row: CanonicalSnapshotRow = {
 *   schema: 'main', table: 'users', keyColumn: 'id', key: 'u1', rowVersion: 7,
 *   payloadJson: '{"id":"u1"}',
 * };
 * ```
 */
export interface CanonicalSnapshotRow {
  schema: string;
  table: string;
  keyColumn: string;
  key: string;
  rowVersion: number | bigint;
  /** Canonical (JCS) JSON text of the payload object. */
  payloadJson: string;
}

/**
 * Canonical JSON text of a snapshot row, concatenated from already-canonical payload text.
 *
 * A server can splice this text into the chunk body and take {@link utf8ByteLength} of it as the
 * row's byte count, with no parse and no second serialization.
 *
 * @example
 * ```ts
 * const text = snapshotRowJsonFromCanonicalPayload(row);
 * const bytes = utf8ByteLength(text); // === snapshotRowByteCount(JSON.parse(text))
 * ```
 */
export function snapshotRowJsonFromCanonicalPayload(row: CanonicalSnapshotRow): string {
  const version = row.rowVersion;
  if (typeof version === 'number' && !Number.isSafeInteger(version)) {
    throw new RangeError(`row_version must be a safe integer, got ${String(version)}`);
  }
  // Members in JCS order: key, payload, row_version, schema, table.
  return `{"key":{${canonicalJsonString(row.keyColumn)}:${canonicalJsonString(row.key)}},"payload":${row.payloadJson},"row_version":${version.toString()},"schema":${canonicalJsonString(row.schema)},"table":${canonicalJsonString(row.table)}}`;
}
