/**
 * Fixed names and numbers of the oversync wire protocol (generation G2).
 *
 * Both wire generations call themselves `v1`; these values are the ones the SQLiteNow
 * Kotlin/Dart clients require, so a server that changes them stops talking to those clients.
 *
 * @module
 */

/**
 * The `protocol_version` advertised by capabilities and reported by status.
 *
 * Clients compare it for exact equality before connecting, so it is a literal, not a semver.
 *
 * @example
 * ```ts
 * if (caps.protocol_version !== PROTOCOL_VERSION) throw new Error('protocol mismatch');
 * ```
 */
export const PROTOCOL_VERSION = 'v1';

/**
 * The request header that names the writer stream (the client runtime) of every `/sync/*` call.
 *
 * Source identity travels only here, never in request bodies, so one header read covers every
 * endpoint.
 *
 * @example
 * ```ts
 * const sourceId = request.headers.get(SOURCE_ID_HEADER);
 * ```
 */
export const SOURCE_ID_HEADER = 'Oversync-Source-ID';

/**
 * PostgreSQL `LISTEN`/`NOTIFY` channel that fans bundle commits out to every server process.
 *
 * Shared with the Go server so mixed deployments on one database wake each other's watchers.
 *
 * @example
 * ```ts
 * await client.query(`LISTEN ${WATCH_NOTIFY_CHANNEL}`);
 * ```
 */
export const WATCH_NOTIFY_CHANNEL = 'oversync_bundle_change_v1';

/**
 * Prefix of the synthetic `source_id` of the baseline bundle that adopts rows which already
 * existed on the server before sync was enabled.
 *
 * Clients see such bundles in pulls; the prefix keeps them from colliding with real sources.
 *
 * @example
 * ```ts
 * const adoptionSource = `${ADOPTION_SOURCE_PREFIX}${crypto.randomUUID()}`;
 * ```
 */
export const ADOPTION_SOURCE_PREFIX = 'oversync-adoption:';

/**
 * Allowed `source_replacement.reason` values of a rotated snapshot rebuild.
 *
 * Each names the push error that forced the client to abandon its source.
 *
 * @example
 * ```ts
 * const ok = (SNAPSHOT_REPLACEMENT_REASONS as readonly string[]).includes(reason);
 * ```
 */
export const SNAPSHOT_REPLACEMENT_REASONS = [
  'history_pruned',
  'source_sequence_out_of_order',
  'source_sequence_changed',
  'source_retired',
] as const;

/**
 * A `source_replacement.reason` value.
 *
 * @example
 * ```ts
 * const reason: SnapshotReplacementReason = 'source_retired';
 * ```
 */
export type SnapshotReplacementReason = (typeof SNAPSHOT_REPLACEMENT_REASONS)[number];

/**
 * Every feature flag name a server advertises in `capabilities.features`.
 *
 * Clients treat a missing flag as `false`, so a server should always send the full set.
 *
 * @example
 * ```ts
 * const features = Object.fromEntries(FEATURE_FLAGS.map((f) => [f, true]));
 * ```
 */
export const FEATURE_FLAGS = [
  'accepted_push_replay_visibility',
  'bundle_change_watch',
  'bundle_pull',
  'bundle_push',
  'capabilities_endpoint',
  'committed_bundle_row_fetch',
  'committed_bundle_visibility',
  'connect_lifecycle',
  'graceful_shutdown',
  'history_pruned_errors',
  'history_pruned_visibility',
  'push_session_chunking',
  'registered_write_rejection_enforced',
  'retained_floor_visibility',
  'retained_window_visibility',
  'scope_initialization_leases',
  'server_checkpoint_tracking',
  'snapshot_chunking',
  'status_endpoint',
  'structured_sync_keys',
] as const;

/**
 * A capabilities feature flag name.
 *
 * @example
 * ```ts
 * const flag: FeatureFlag = 'connect_lifecycle';
 * ```
 */
export type FeatureFlag = (typeof FEATURE_FLAGS)[number];

/**
 * Size, count and time limits advertised in `capabilities.bundle_limits`.
 *
 * All members are integers; byte members count UTF-8 bytes, TTLs are seconds.
 *
 * @example
 * ```ts
 * const limits: BundleLimits = { ...DEFAULT_BUNDLE_LIMITS, max_rows_per_push_chunk: 2000 };
 * ```
 */
export interface BundleLimits {
  max_bundles_per_pull: number;
  default_rows_per_push_chunk: number;
  max_rows_per_push_chunk: number;
  push_session_ttl_seconds: number;
  default_rows_per_committed_bundle_chunk: number;
  max_rows_per_committed_bundle_chunk: number;
  default_rows_per_snapshot_chunk: number;
  max_rows_per_snapshot_chunk: number;
  snapshot_session_ttl_seconds: number;
  default_bytes_per_snapshot_chunk: number;
  max_bytes_per_snapshot_chunk: number;
  max_bytes_per_snapshot_row: number;
  snapshot_materialization_batch_rows: number;
  snapshot_materialization_batch_bytes: number;
  max_concurrent_snapshot_builds: number;
  max_concurrent_snapshot_chunk_requests: number;
  initialization_lease_ttl_seconds: number;
  max_rows_per_bundle: number;
  max_bytes_per_bundle: number;
  max_rows_per_snapshot_session: number;
  max_bytes_per_snapshot_session: number;
}

/**
 * G2 default limits.
 *
 * The snapshot values are the ones every shared fixture advertises; `max_bytes_per_snapshot_row`
 * stays at 4 MiB because clients with default settings reject anything larger.
 *
 * @example
 * ```ts
 * const maxRows = Math.min(requested, DEFAULT_BUNDLE_LIMITS.max_rows_per_snapshot_chunk);
 * ```
 */
export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  max_bundles_per_pull: 5000,
  default_rows_per_push_chunk: 1000,
  max_rows_per_push_chunk: 5000,
  push_session_ttl_seconds: 900,
  default_rows_per_committed_bundle_chunk: 1000,
  max_rows_per_committed_bundle_chunk: 5000,
  default_rows_per_snapshot_chunk: 1000,
  max_rows_per_snapshot_chunk: 4000,
  snapshot_session_ttl_seconds: 900,
  default_bytes_per_snapshot_chunk: 4_194_304,
  max_bytes_per_snapshot_chunk: 16_777_216,
  max_bytes_per_snapshot_row: 4_194_304,
  snapshot_materialization_batch_rows: 1000,
  snapshot_materialization_batch_bytes: 4_194_304,
  max_concurrent_snapshot_builds: 2,
  max_concurrent_snapshot_chunk_requests: 8,
  initialization_lease_ttl_seconds: 900,
  // 0 = unlimited (and omitted from capabilities): clients put every dirty row into one
  // bundle and read no bundle cap, so any default cap would strand a large offline device.
  max_rows_per_bundle: 0,
  max_bytes_per_bundle: 0,
  max_rows_per_snapshot_session: 0,
  max_bytes_per_snapshot_session: 0,
});

/** Longest source id accepted; bounds header and index sizes. */
const MAX_SOURCE_ID_LENGTH = 255;

/** Visible ASCII only: G2 clients reject anything else in headers, bodies and watch events. */
const SOURCE_ID_PATTERN = /^[\x21-\x7e]+$/;

/**
 * True when `s` is an acceptable source id: 1..255 visible ASCII characters (0x21..0x7E).
 *
 * Whitespace is rejected rather than trimmed, because G2 clients compare ids byte for byte.
 *
 * @example
 * ```ts
 * isValidSourceId('3f0c9a1e-device'); // true
 * isValidSourceId('has space'); // false
 * ```
 */
export function isValidSourceId(s: string): boolean {
  return s.length > 0 && s.length <= MAX_SOURCE_ID_LENGTH && SOURCE_ID_PATTERN.test(s);
}
