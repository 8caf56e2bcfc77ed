/**
 * Push session messages: create, chunk upload, commit.
 *
 * Request schemas only check JSON shape (types, safe integers) so the server can answer range and
 * grammar problems with the precise protocol error code and message; responses are strict enough
 * to catch a server that would fail G2 client validation.
 *
 * @module
 */

import * as v from 'valibot';
import {
  CanonicalUuidSchema,
  NonNegativeIntegerSchema,
  PositiveIntegerSchema,
  Sha256HexSchema,
  SourceIdSchema,
  WireIntegerSchema,
} from './common.js';

/**
 * Push session create request. `canonical_request_hash` is always sent by G2 clients;
 * `initialization_id` only while seeding an initializing scope.
 *
 * @example
 * ```ts
 * const req = v.parse(PushSessionCreateRequestSchema, {
 *   source_bundle_id: 1, planned_row_count: 2, canonical_request_hash: 'a'.repeat(64),
 * });
 * ```
 */
export const PushSessionCreateRequestSchema = v.object({
  source_bundle_id: WireIntegerSchema,
  planned_row_count: WireIntegerSchema,
  canonical_request_hash: v.optional(v.string()),
  initialization_id: v.optional(v.string()),
});

/**
 * Decoded push session create request.
 *
 * @example
 * ```ts
 * const req: PushSessionCreateRequest = { source_bundle_id: 1, planned_row_count: 1 };
 * ```
 */
export type PushSessionCreateRequest = v.InferOutput<typeof PushSessionCreateRequestSchema>;

/**
 * One uploaded row. `key` values and `op` stay loosely typed so the server can name the exact
 * offending member; `payload` is absent or `null` for DELETE.
 *
 * @example
 * ```ts
 * v.parse(PushRowSchema, {
 *   schema: 'main', table: 'users', key: { id: 'u1' }, op: 'INSERT',
 *   base_row_version: 0, payload: { id: 'u1', name: 'Ada' },
 * });
 * ```
 */
export const PushRowSchema = v.object({
  schema: v.string(),
  table: v.string(),
  key: v.record(v.string(), v.unknown()),
  op: v.string(),
  base_row_version: WireIntegerSchema,
  payload: v.optional(v.unknown()),
});

/**
 * Decoded uploaded row.
 *
 * @example
 * ```ts
 * const isDelete = (row: PushRow) => row.op === 'DELETE';
 * ```
 */
export type PushRow = v.InferOutput<typeof PushRowSchema>;

/**
 * Push chunk request: rows starting at `start_row_ordinal` (0-based, contiguous across chunks).
 *
 * @example
 * ```ts
 * const chunk = v.parse(PushSessionChunkRequestSchema, { start_row_ordinal: 0, rows });
 * ```
 */
export const PushSessionChunkRequestSchema = v.object({
  start_row_ordinal: WireIntegerSchema,
  rows: v.array(PushRowSchema),
});

/**
 * Decoded push chunk request.
 *
 * @example
 * ```ts
 * const next = chunk.start_row_ordinal + chunk.rows.length;
 * ```
 */
export type PushSessionChunkRequest = v.InferOutput<typeof PushSessionChunkRequestSchema>;

/**
 * `status: "staging"` answer: a fresh session ready for chunks.
 *
 * @example
 * ```ts
 * v.parse(PushSessionStagingResponseSchema, {
 *   push_id: '11111111-1111-4111-8111-111111111111', status: 'staging', planned_row_count: 1,
 *   next_expected_row_ordinal: 0, canonical_request_hash: 'a'.repeat(64),
 * });
 * ```
 */
export const PushSessionStagingResponseSchema = v.object({
  push_id: CanonicalUuidSchema,
  status: v.literal('staging'),
  planned_row_count: PositiveIntegerSchema,
  next_expected_row_ordinal: NonNegativeIntegerSchema,
  canonical_request_hash: Sha256HexSchema,
});

/**
 * Decoded staging answer.
 *
 * @example
 * ```ts
 * const id = (res: PushSessionStagingResponse) => res.push_id;
 * ```
 */
export type PushSessionStagingResponse = v.InferOutput<typeof PushSessionStagingResponseSchema>;

/**
 * `status: "already_committed"` answer: the `(source_id, source_bundle_id)` tuple was committed
 * before; `canonical_request_hash` is the one of the original upload.
 *
 * @example
 * ```ts
 * v.parse(PushSessionAlreadyCommittedResponseSchema, {
 *   status: 'already_committed', bundle_seq: 1, source_id: 'device-a', source_bundle_id: 1,
 *   row_count: 1, bundle_hash: 'f'.repeat(64), canonical_request_hash: 'a'.repeat(64),
 * });
 * ```
 */
export const PushSessionAlreadyCommittedResponseSchema = v.object({
  status: v.literal('already_committed'),
  bundle_seq: PositiveIntegerSchema,
  source_id: SourceIdSchema,
  source_bundle_id: PositiveIntegerSchema,
  row_count: NonNegativeIntegerSchema,
  bundle_hash: v.string(),
  canonical_request_hash: Sha256HexSchema,
});

/**
 * Decoded already-committed answer.
 *
 * @example
 * ```ts
 * const seq = (res: PushSessionAlreadyCommittedResponse) => res.bundle_seq;
 * ```
 */
export type PushSessionAlreadyCommittedResponse = v.InferOutput<
  typeof PushSessionAlreadyCommittedResponseSchema
>;

/**
 * Push session create response, discriminated by `status`.
 *
 * @example
 * ```ts
 * const res = v.parse(PushSessionCreateResponseSchema, body);
 * if (res.status === 'staging') upload(res.push_id);
 * ```
 */
export const PushSessionCreateResponseSchema = v.variant('status', [
  PushSessionStagingResponseSchema,
  PushSessionAlreadyCommittedResponseSchema,
]);

/**
 * Decoded push session create response.
 *
 * @example
 * ```ts
 * const done = (res: PushSessionCreateResponse) => res.status === 'already_committed';
 * ```
 */
export type PushSessionCreateResponse = v.InferOutput<typeof PushSessionCreateResponseSchema>;

/**
 * Push chunk response: the session id echoed and the next ordinal the server expects.
 *
 * @example
 * ```ts
 * const res = v.parse(PushChunkResponseSchema, { push_id, next_expected_row_ordinal: 1 });
 * ```
 */
export const PushChunkResponseSchema = v.object({
  push_id: CanonicalUuidSchema,
  next_expected_row_ordinal: NonNegativeIntegerSchema,
});

/**
 * Decoded push chunk response.
 *
 * @example
 * ```ts
 * const res: PushChunkResponse = { push_id, next_expected_row_ordinal: 2 };
 * ```
 */
export type PushChunkResponse = v.InferOutput<typeof PushChunkResponseSchema>;

/**
 * Push commit response. `row_count` counts the committed rows, which may differ from the
 * uploaded ones (cascades, triggers).
 *
 * @example
 * ```ts
 * const res = v.parse(PushCommitResponseSchema, body);
 * ```
 */
export const PushCommitResponseSchema = v.object({
  bundle_seq: PositiveIntegerSchema,
  source_id: SourceIdSchema,
  source_bundle_id: PositiveIntegerSchema,
  row_count: NonNegativeIntegerSchema,
  bundle_hash: v.string(),
  canonical_request_hash: Sha256HexSchema,
});

/**
 * Decoded push commit response.
 *
 * @example
 * ```ts
 * const seq = (res: PushCommitResponse) => res.bundle_seq;
 * ```
 */
export type PushCommitResponse = v.InferOutput<typeof PushCommitResponseSchema>;
