/**
 * Interpretation of `GET /sync/capabilities`: protocol generation gate, table contract,
 * feature flags, and snapshot chunk limit negotiation.
 *
 * @module
 */

import {
  type AdvertisedBundleLimits,
  type CapabilitiesResponse,
  compareTableSpecs,
  PROTOCOL_VERSION,
  type SyncKeyMismatch,
  type TableSpec,
} from '@oversync/protocol';
import { clientError } from '../errors.js';

/**
 * The client's side of the table contract: its schema name and each managed table with its
 * sync key column.
 *
 * @example
 * ```ts
 * const local: LocalTableContract = {
 *   schema: 'business',
 *   tables: [{ tableName: 'users', keyColumn: 'id' }, { tableName: 'posts', keyColumn: 'id' }],
 * };
 * ```
 */
export interface LocalTableContract {
  readonly schema: string;
  readonly tables: readonly { readonly tableName: string; readonly keyColumn: string }[];
}

/**
 * Features of a compatible server that the client acts on.
 *
 * @example
 * ```ts
 * const features: ServerFeatures = { connectLifecycle: true, bundleChangeWatch: false };
 * ```
 */
export interface ServerFeatures {
  /** `features.connect_lifecycle`: attach may call `POST /sync/connect`. */
  readonly connectLifecycle: boolean;
  /** `features.bundle_change_watch`: `GET /sync/watch` is available. */
  readonly bundleChangeWatch: boolean;
}

/** The local contract as protocol table specs (table and key column names lowercased). */
function localSpecs(local: LocalTableContract): TableSpec[] {
  return local.tables.map((table) => ({
    schema: local.schema,
    table: table.tableName.toLowerCase(),
    sync_key_columns: [table.keyColumn.toLowerCase()],
  }));
}

function describeKeyMismatch(m: SyncKeyMismatch): string {
  return `${m.qualifiedTable} (client [${m.clientSyncKeyColumns.join(', ')}], server [${m.serverSyncKeyColumns.join(', ')}])`;
}

/** Internal consistency of the advertised snapshot limits (a broken server otherwise). */
function checkBundleLimits(limits: AdvertisedBundleLimits): void {
  const problems: string[] = [];
  if (limits.default_rows_per_snapshot_chunk > limits.max_rows_per_snapshot_chunk) {
    problems.push('default_rows_per_snapshot_chunk exceeds max_rows_per_snapshot_chunk');
  }
  if (limits.default_bytes_per_snapshot_chunk > limits.max_bytes_per_snapshot_chunk) {
    problems.push('default_bytes_per_snapshot_chunk exceeds max_bytes_per_snapshot_chunk');
  }
  if (limits.max_bytes_per_snapshot_row > limits.max_bytes_per_snapshot_chunk) {
    problems.push('max_bytes_per_snapshot_row exceeds max_bytes_per_snapshot_chunk');
  }
  if (problems.length > 0) {
    throw clientError('protocol_error', `capabilities bundle_limits: ${problems.join('; ')}`, {
      reason: 'bundle_limits',
      problems,
    });
  }
}

/**
 * Gates a capabilities document before any sync work, in this order:
 *
 * 1. `protocol_version` must be `"v1"`, else `protocol_version_mismatch` (`details.serverVersion`);
 * 2. `registered_table_specs` must be a well-formed list (each spec one non-blank key column, no
 *    duplicate table), else `protocol_error`;
 * 3. it must name exactly the local tables with the same key columns, else
 *    `table_contract_mismatch` with sorted `details.serverOnlyTables`, `details.clientOnlyTables`
 *    and `details.syncKeyMismatches` (all three also spelled out in the message);
 * 4. the snapshot `bundle_limits` must be consistent, else `protocol_error`.
 *
 * Returns the feature flags the client acts on; a missing flag is `false`. An unsupported
 * `connect_lifecycle` is reported, not thrown: attach turns it into `connect_lifecycle_unsupported`.
 *
 * @example
 * ```ts
 * const features = checkCapabilities(await remote.capabilities(ctx), {
 *   schema: 'business',
 *   tables: [{ tableName: 'users', keyColumn: 'id' }],
 * });
 * if (!features.connectLifecycle) throw clientError('connect_lifecycle_unsupported', '…');
 * ```
 */
export function checkCapabilities(
  caps: CapabilitiesResponse,
  local: LocalTableContract,
): ServerFeatures {
  if (caps.protocol_version !== PROTOCOL_VERSION) {
    throw clientError(
      'protocol_version_mismatch',
      `server protocol_version ${JSON.stringify(caps.protocol_version)} is not supported (client speaks ${PROTOCOL_VERSION})`,
      { serverVersion: caps.protocol_version, clientVersion: PROTOCOL_VERSION },
    );
  }
  let comparison: ReturnType<typeof compareTableSpecs>;
  try {
    comparison = compareTableSpecs(localSpecs(local), caps.registered_table_specs);
  } catch (error) {
    throw clientError(
      'configuration',
      `invalid local table contract: ${(error as Error).message}`,
      {},
      error,
    );
  }
  if (comparison.kind === 'invalid') {
    throw clientError(
      'protocol_error',
      `capabilities registered_table_specs: ${comparison.reason}`,
      { reason: comparison.reason },
    );
  }
  if (comparison.kind === 'mismatch') {
    const { serverOnlyTables, clientOnlyTables, syncKeyMismatches } = comparison;
    throw clientError(
      'table_contract_mismatch',
      `sync table contract mismatch: server-only tables [${serverOnlyTables.join(', ')}], client-only tables [${clientOnlyTables.join(', ')}], sync key mismatches [${syncKeyMismatches.map(describeKeyMismatch).join(', ')}]`,
      { serverOnlyTables, clientOnlyTables, syncKeyMismatches },
    );
  }
  checkBundleLimits(caps.bundle_limits);
  return {
    connectLifecycle: caps.features.connect_lifecycle === true,
    bundleChangeWatch: caps.features.bundle_change_watch === true,
  };
}

/**
 * Client snapshot settings entering {@link negotiateSnapshotLimits}.
 *
 * @example
 * ```ts
 * const config: SnapshotLimitConfig = { snapshotChunkRows: 1000, snapshotChunkBytes: 4_194_304 };
 * ```
 */
export interface SnapshotLimitConfig {
  /** Rows per chunk request the client would like (KMP/Dart default 1000). */
  readonly snapshotChunkRows: number;
  /** Bytes per chunk request the client would like (KMP/Dart default 4 MiB). */
  readonly snapshotChunkBytes: number;
  /** Bytes per local apply page; when given it must also hold the largest row. */
  readonly snapshotApplyBatchBytes?: number;
}

/**
 * The `max_rows` / `max_bytes` every snapshot chunk request of a rebuild sends.
 *
 * @example
 * ```ts
 * const limits: SnapshotChunkLimits = { maxRows: 1000, maxBytes: 4_194_304 };
 * ```
 */
export interface SnapshotChunkLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
}

function requirePositive(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw clientError('configuration', `${name} must be a positive integer, got ${value}`);
  }
}

/**
 * Negotiates snapshot chunk limits: rows = min(client rows, `max_rows_per_snapshot_chunk`),
 * bytes = min(client bytes, `max_bytes_per_snapshot_chunk`). The byte budget, and the apply
 * batch budget when given, must hold the largest row the server may send
 * (`max_bytes_per_snapshot_row`); otherwise a rebuild could never make progress, so it fails
 * before any snapshot work — `configuration` when the client's setting is too small,
 * `protocol_error` when the server's own chunk maximum is.
 *
 * @example
 * ```ts
 * const { maxRows, maxBytes } = negotiateSnapshotLimits(caps.bundle_limits, {
 *   snapshotChunkRows: 1000,
 *   snapshotChunkBytes: 4 * 1024 * 1024,
 * });
 * ```
 */
export function negotiateSnapshotLimits(
  limits: AdvertisedBundleLimits,
  config: SnapshotLimitConfig,
): SnapshotChunkLimits {
  requirePositive(config.snapshotChunkRows, 'snapshotChunkRows');
  requirePositive(config.snapshotChunkBytes, 'snapshotChunkBytes');
  if (config.snapshotApplyBatchBytes !== undefined) {
    requirePositive(config.snapshotApplyBatchBytes, 'snapshotApplyBatchBytes');
  }
  const maxRows = Math.min(config.snapshotChunkRows, limits.max_rows_per_snapshot_chunk);
  const maxBytes = Math.min(config.snapshotChunkBytes, limits.max_bytes_per_snapshot_chunk);
  const rowBytes = limits.max_bytes_per_snapshot_row;
  const details = {
    maxBytesPerSnapshotRow: rowBytes,
    maxBytesPerSnapshotChunk: limits.max_bytes_per_snapshot_chunk,
    snapshotChunkBytes: config.snapshotChunkBytes,
    effectiveMaxBytes: maxBytes,
  };
  if (limits.max_bytes_per_snapshot_chunk < rowBytes) {
    throw clientError(
      'protocol_error',
      `server max_bytes_per_snapshot_chunk ${limits.max_bytes_per_snapshot_chunk} is below its max_bytes_per_snapshot_row ${rowBytes}`,
      details,
    );
  }
  if (maxBytes < rowBytes) {
    throw clientError(
      'configuration',
      `snapshotChunkBytes ${config.snapshotChunkBytes} is below the server's max_bytes_per_snapshot_row ${rowBytes}`,
      details,
    );
  }
  if (config.snapshotApplyBatchBytes !== undefined && config.snapshotApplyBatchBytes < rowBytes) {
    throw clientError(
      'configuration',
      `snapshotApplyBatchBytes ${config.snapshotApplyBatchBytes} is below the server's max_bytes_per_snapshot_row ${rowBytes}`,
      { ...details, snapshotApplyBatchBytes: config.snapshotApplyBatchBytes },
    );
  }
  return { maxRows, maxBytes };
}
