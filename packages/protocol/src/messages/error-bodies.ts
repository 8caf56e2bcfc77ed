/**
 * Error response bodies: the common envelope and the shapes with extra members.
 *
 * @module
 */

import * as v from 'valibot';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import {
  NonNegativeIntegerSchema,
  PayloadSchema,
  PositiveIntegerSchema,
  RowOpSchema,
  SourceIdSchema,
  SyncKeySchema,
} from './common.js';

const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/**
 * Every error body: `{error, message}` with a known code; extra members are kept (loose) so the
 * specific shapes below can be decoded from the same value afterwards. Decodes to `ErrorBody`.
 *
 * @example
 * ```ts
 * const result = v.safeParse(ErrorBodySchema, await response.json());
 * if (result.success && result.output.error === 'history_pruned') rebuild();
 * ```
 */
export const ErrorBodySchema = v.looseObject({
  error: v.picklist(ERROR_CODE_NAMES),
  message: v.string(),
});

/**
 * The first conflicting row of a rejected commit, with the server's current state of that row.
 *
 * @example
 * ```ts
 * const details = v.parse(PushConflictDetailsSchema, body.conflict);
 * ```
 */
export const PushConflictDetailsSchema = v.object({
  schema: v.string(),
  table: v.string(),
  key: SyncKeySchema,
  op: RowOpSchema,
  base_row_version: NonNegativeIntegerSchema,
  server_row_version: NonNegativeIntegerSchema,
  server_row_deleted: v.boolean(),
  server_row: v.nullable(PayloadSchema),
});

/**
 * Decoded conflict details.
 *
 * @example
 * ```ts
 * const rebase = (c: PushConflictDetails) => c.server_row_version;
 * ```
 */
export type PushConflictDetails = v.InferOutput<typeof PushConflictDetailsSchema>;

/**
 * `409 push_conflict` body.
 *
 * @example
 * ```ts
 * const body = v.parse(PushConflictBodySchema, await response.json());
 * ```
 */
export const PushConflictBodySchema = v.object({
  error: v.literal('push_conflict'),
  message: v.string(),
  conflict: PushConflictDetailsSchema,
});

/**
 * Decoded push conflict body.
 *
 * @example
 * ```ts
 * const row = (body: PushConflictBody) => body.conflict.server_row;
 * ```
 */
export type PushConflictBody = v.InferOutput<typeof PushConflictBodySchema>;

/**
 * `409 source_retired` body. `source_id` is the caller's retired source; `replaced_by_source_id`
 * is omitted when unknown (G2 clients reject `null` and `""`).
 *
 * @example
 * ```ts
 * const body = v.parse(SourceRetiredBodySchema, {
 *   error: 'source_retired', message: 'retired', source_id: 'old', replaced_by_source_id: 'new',
 * });
 * ```
 */
export const SourceRetiredBodySchema = v.object({
  error: v.literal('source_retired'),
  message: v.string(),
  source_id: SourceIdSchema,
  replaced_by_source_id: v.optional(SourceIdSchema),
});

/**
 * Decoded source retired body.
 *
 * @example
 * ```ts
 * const next = (body: SourceRetiredBody) => body.replaced_by_source_id ?? crypto.randomUUID();
 * ```
 */
export type SourceRetiredBody = v.InferOutput<typeof SourceRetiredBodySchema>;

/**
 * `400 snapshot_chunk_too_small` body: the next row alone needs `required_byte_count` bytes,
 * more than the request's `max_bytes`.
 *
 * @example
 * ```ts
 * const body = v.parse(SnapshotChunkTooSmallBodySchema, {
 *   error: 'snapshot_chunk_too_small', message: 'row too large', required_byte_count: 5000,
 * });
 * ```
 */
export const SnapshotChunkTooSmallBodySchema = v.object({
  error: v.literal('snapshot_chunk_too_small'),
  message: v.string(),
  required_byte_count: PositiveIntegerSchema,
});

/**
 * Decoded snapshot chunk too small body.
 *
 * @example
 * ```ts
 * const need = (body: SnapshotChunkTooSmallBody) => body.required_byte_count;
 * ```
 */
export type SnapshotChunkTooSmallBody = v.InferOutput<typeof SnapshotChunkTooSmallBodySchema>;

/**
 * `409 snapshot_session_limit_exceeded` body: which dimension overflowed, by how much.
 *
 * @example
 * ```ts
 * const body = v.parse(SnapshotSessionLimitExceededBodySchema, {
 *   error: 'snapshot_session_limit_exceeded', message: 'too many rows',
 *   dimension: 'row_count', actual: 11, limit: 10,
 * });
 * ```
 */
export const SnapshotSessionLimitExceededBodySchema = v.object({
  error: v.literal('snapshot_session_limit_exceeded'),
  message: v.string(),
  dimension: v.picklist(['row_count', 'byte_count', 'row_byte_count']),
  actual: PositiveIntegerSchema,
  limit: PositiveIntegerSchema,
});

/**
 * Decoded snapshot session limit body.
 *
 * @example
 * ```ts
 * const over = (body: SnapshotSessionLimitExceededBody) => body.actual - body.limit;
 * ```
 */
export type SnapshotSessionLimitExceededBody = v.InferOutput<
  typeof SnapshotSessionLimitExceededBodySchema
>;
