/**
 * Snapshot session messages: create (plain or source replacement), chunk.
 *
 * @module
 */

import * as v from 'valibot';
import { SNAPSHOT_REPLACEMENT_REASONS } from '../constants.js';
import {
  NonNegativeIntegerSchema,
  PayloadSchema,
  PositiveIntegerSchema,
  Rfc3339Schema,
  SyncKeySchema,
} from './common.js';

/**
 * A rotated rebuild: retire `previous_source_id`, continue as `new_source_id`. Strict, like the
 * Go server: an unknown member is a client bug worth a 400, not something to ignore.
 *
 * @example
 * ```ts
 * v.parse(SourceReplacementSchema, {
 *   previous_source_id: 'old', new_source_id: 'new', reason: 'source_retired',
 * });
 * ```
 */
export const SourceReplacementSchema = v.strictObject({
  previous_source_id: v.string(),
  new_source_id: v.string(),
  reason: v.picklist(SNAPSHOT_REPLACEMENT_REASONS),
});

/**
 * Decoded source replacement.
 *
 * @example
 * ```ts
 * const rotated = (r: SourceReplacement) => r.new_source_id;
 * ```
 */
export type SourceReplacement = v.InferOutput<typeof SourceReplacementSchema>;

/**
 * Snapshot session create body (strict). An absent/empty body, `{}` and `null` all mean a plain
 * snapshot; the server maps an empty body to `{}` before decoding.
 *
 * @example
 * ```ts
 * const req = v.parse(SnapshotSessionCreateRequestSchema, body ?? {});
 * ```
 */
export const SnapshotSessionCreateRequestSchema = v.strictObject({
  source_replacement: v.optional(SourceReplacementSchema),
});

/**
 * Decoded snapshot session create body.
 *
 * @example
 * ```ts
 * const plain = (req: SnapshotSessionCreateRequest) => req.source_replacement === undefined;
 * ```
 */
export type SnapshotSessionCreateRequest = v.InferOutput<typeof SnapshotSessionCreateRequestSchema>;

/**
 * A frozen snapshot. `byte_count` is required (missing is not zero) and equals the sum of the
 * chunk `byte_count`s; `row_count == 0` exactly when `byte_count == 0`.
 *
 * @example
 * ```ts
 * const session = v.parse(SnapshotSessionSchema, body);
 * ```
 */
export const SnapshotSessionSchema = v.object({
  snapshot_id: v.pipe(v.string(), v.minLength(1)),
  snapshot_bundle_seq: NonNegativeIntegerSchema,
  row_count: NonNegativeIntegerSchema,
  byte_count: NonNegativeIntegerSchema,
  expires_at: Rfc3339Schema,
});

/**
 * Decoded snapshot session.
 *
 * @example
 * ```ts
 * const empty = (s: SnapshotSession) => s.row_count === 0;
 * ```
 */
export type SnapshotSession = v.InferOutput<typeof SnapshotSessionSchema>;

/**
 * One snapshot row: exactly these five members (G2 clients decode strictly), payload always an
 * object.
 *
 * @example
 * ```ts
 * v.parse(SnapshotRowSchema, {
 *   schema: 'main', table: 'users', key: { id: 'u1' }, row_version: 7, payload: { id: 'u1' },
 * });
 * ```
 */
export const SnapshotRowSchema = v.strictObject({
  schema: v.string(),
  table: v.string(),
  key: SyncKeySchema,
  row_version: PositiveIntegerSchema,
  payload: PayloadSchema,
});

/**
 * Decoded snapshot row.
 *
 * @example
 * ```ts
 * const id = (row: SnapshotRow) => row.key.id;
 * ```
 */
export type SnapshotRow = v.InferOutput<typeof SnapshotRowSchema>;

/**
 * One snapshot chunk: exactly these six members. `next_row_ordinal = after_row_ordinal +
 * rows.length`; `byte_count` is the sum of the rows' canonical JSON UTF-8 lengths (see
 * `snapshotRowByteCount`) and is `0` exactly when `rows` is empty.
 *
 * @example
 * ```ts
 * const chunk = v.parse(SnapshotChunkResponseSchema, body);
 * ```
 */
export const SnapshotChunkResponseSchema = v.strictObject({
  snapshot_id: v.pipe(v.string(), v.minLength(1)),
  snapshot_bundle_seq: NonNegativeIntegerSchema,
  rows: v.array(SnapshotRowSchema),
  next_row_ordinal: NonNegativeIntegerSchema,
  has_more: v.boolean(),
  byte_count: NonNegativeIntegerSchema,
});

/**
 * Decoded snapshot chunk.
 *
 * @example
 * ```ts
 * const done = (chunk: SnapshotChunkResponse) => !chunk.has_more;
 * ```
 */
export type SnapshotChunkResponse = v.InferOutput<typeof SnapshotChunkResponseSchema>;
