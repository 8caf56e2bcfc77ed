/**
 * `GET /sync/capabilities` response.
 *
 * @module
 */

import * as v from 'valibot';
import { NonNegativeIntegerSchema, PositiveIntegerSchema, WireIntegerSchema } from './common.js';

/**
 * One registered table and its sync key column, as advertised by the server.
 *
 * @example
 * ```ts
 * v.parse(TableSpecSchema, { schema: 'main', table: 'users', sync_key_columns: ['id'] });
 * ```
 */
export const TableSpecSchema = v.object({
  schema: v.string(),
  table: v.string(),
  sync_key_columns: v.array(v.string()),
});

/**
 * A registered table spec: `{schema, table, sync_key_columns}`.
 *
 * @example
 * ```ts
 * const spec: TableSpec = { schema: 'main', table: 'users', sync_key_columns: ['id'] };
 * ```
 */
export type TableSpec = v.InferOutput<typeof TableSpecSchema>;

/**
 * `bundle_limits`: the snapshot byte/concurrency members G2 clients require are required and at
 * least 1; the older members stay optional because G2 clients do not read them.
 *
 * @example
 * ```ts
 * v.parse(BundleLimitsSchema, DEFAULT_BUNDLE_LIMITS);
 * ```
 */
export const BundleLimitsSchema = v.object({
  default_rows_per_snapshot_chunk: PositiveIntegerSchema,
  max_rows_per_snapshot_chunk: PositiveIntegerSchema,
  default_bytes_per_snapshot_chunk: PositiveIntegerSchema,
  max_bytes_per_snapshot_chunk: PositiveIntegerSchema,
  max_bytes_per_snapshot_row: PositiveIntegerSchema,
  max_concurrent_snapshot_builds: PositiveIntegerSchema,
  max_concurrent_snapshot_chunk_requests: PositiveIntegerSchema,
  snapshot_materialization_batch_rows: v.optional(NonNegativeIntegerSchema),
  snapshot_materialization_batch_bytes: v.optional(NonNegativeIntegerSchema),
  max_rows_per_bundle: v.optional(NonNegativeIntegerSchema),
  max_bytes_per_bundle: v.optional(NonNegativeIntegerSchema),
  max_bundles_per_pull: v.optional(NonNegativeIntegerSchema),
  default_rows_per_push_chunk: v.optional(NonNegativeIntegerSchema),
  max_rows_per_push_chunk: v.optional(NonNegativeIntegerSchema),
  push_session_ttl_seconds: v.optional(NonNegativeIntegerSchema),
  default_rows_per_committed_bundle_chunk: v.optional(NonNegativeIntegerSchema),
  max_rows_per_committed_bundle_chunk: v.optional(NonNegativeIntegerSchema),
  snapshot_session_ttl_seconds: v.optional(NonNegativeIntegerSchema),
  max_rows_per_snapshot_session: v.optional(NonNegativeIntegerSchema),
  max_bytes_per_snapshot_session: v.optional(NonNegativeIntegerSchema),
  initialization_lease_ttl_seconds: v.optional(NonNegativeIntegerSchema),
});

/**
 * Decoded `bundle_limits` (older members optional).
 *
 * @example
 * ```ts
 * const rows = limits.max_rows_per_push_chunk ?? 0;
 * ```
 */
export type AdvertisedBundleLimits = v.InferOutput<typeof BundleLimitsSchema>;

/**
 * Capabilities document. Unknown members are ignored; missing feature flags mean `false`.
 *
 * @example
 * ```ts
 * const caps = v.parse(CapabilitiesResponseSchema, await response.json());
 * if (!caps.features.connect_lifecycle) throw new Error('server lacks connect lifecycle');
 * ```
 */
export const CapabilitiesResponseSchema = v.object({
  protocol_version: v.string(),
  schema_version: WireIntegerSchema,
  app_name: v.optional(v.string()),
  registered_tables: v.optional(v.array(v.string())),
  registered_table_specs: v.array(TableSpecSchema),
  features: v.record(v.string(), v.boolean()),
  bundle_limits: BundleLimitsSchema,
});

/**
 * Decoded capabilities document.
 *
 * @example
 * ```ts
 * const watch = caps.features.bundle_change_watch === true;
 * ```
 */
export type CapabilitiesResponse = v.InferOutput<typeof CapabilitiesResponseSchema>;
