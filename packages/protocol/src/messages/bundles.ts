/**
 * Committed bundle messages: committed-row fetch and pull.
 *
 * @module
 */

import * as v from 'valibot';
import {
  NonNegativeIntegerSchema,
  PayloadSchema,
  PositiveIntegerSchema,
  RowOpSchema,
  Sha256HexSchema,
  SourceIdSchema,
  SyncKeySchema,
  WireIntegerSchema,
} from './common.js';

/**
 * One committed row. `row_version` is the bundle's `bundle_seq`; DELETE rows carry `payload: null`
 * (or omit it).
 *
 * @example
 * ```ts
 * v.parse(BundleRowSchema, {
 *   schema: 'main', table: 'users', key: { id: 'u1' }, op: 'DELETE', row_version: 2, payload: null,
 * });
 * ```
 */
export const BundleRowSchema = v.object({
  schema: v.string(),
  table: v.string(),
  key: SyncKeySchema,
  op: RowOpSchema,
  row_version: PositiveIntegerSchema,
  payload: v.optional(v.nullable(PayloadSchema)),
});

/**
 * Decoded committed row.
 *
 * @example
 * ```ts
 * const image = (row: BundleRow) => row.payload ?? null;
 * ```
 */
export type BundleRow = v.InferOutput<typeof BundleRowSchema>;

/**
 * One page of a committed bundle's rows plus the bundle metadata, echoed on every page.
 * `next_row_ordinal` is the 0-based ordinal of the last returned row.
 *
 * @example
 * ```ts
 * const page = v.parse(CommittedBundleRowsResponseSchema, body);
 * ```
 */
export const CommittedBundleRowsResponseSchema = v.object({
  bundle_seq: PositiveIntegerSchema,
  source_id: SourceIdSchema,
  source_bundle_id: PositiveIntegerSchema,
  row_count: NonNegativeIntegerSchema,
  bundle_hash: v.string(),
  canonical_request_hash: Sha256HexSchema,
  rows: v.array(BundleRowSchema),
  next_row_ordinal: WireIntegerSchema,
  has_more: v.boolean(),
});

/**
 * Decoded committed-row page.
 *
 * @example
 * ```ts
 * const more = (page: CommittedBundleRowsResponse) => page.has_more;
 * ```
 */
export type CommittedBundleRowsResponse = v.InferOutput<typeof CommittedBundleRowsResponseSchema>;

/**
 * One complete bundle in a pull page.
 *
 * @example
 * ```ts
 * v.parse(BundleSchema, { bundle_seq: 1, source_id: 'device-a', source_bundle_id: 1, rows: [] });
 * ```
 */
export const BundleSchema = v.object({
  bundle_seq: PositiveIntegerSchema,
  source_id: SourceIdSchema,
  source_bundle_id: PositiveIntegerSchema,
  row_count: v.optional(NonNegativeIntegerSchema),
  bundle_hash: v.optional(v.string()),
  rows: v.array(BundleRowSchema),
});

/**
 * Decoded pulled bundle.
 *
 * @example
 * ```ts
 * const seq = (bundle: Bundle) => bundle.bundle_seq;
 * ```
 */
export type Bundle = v.InferOutput<typeof BundleSchema>;

/**
 * Pull page: complete bundles with `after_bundle_seq < bundle_seq <= stable_bundle_seq`.
 *
 * @example
 * ```ts
 * const page = v.parse(PullResponseSchema, { stable_bundle_seq: 0, bundles: [], has_more: false });
 * ```
 */
export const PullResponseSchema = v.object({
  stable_bundle_seq: NonNegativeIntegerSchema,
  bundles: v.array(BundleSchema),
  has_more: v.boolean(),
});

/**
 * Decoded pull page.
 *
 * @example
 * ```ts
 * const target = (page: PullResponse) => page.stable_bundle_seq;
 * ```
 */
export type PullResponse = v.InferOutput<typeof PullResponseSchema>;
