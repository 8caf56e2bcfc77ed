/**
 * Read-only status queries: pending rows, authority, checkpoint, source info.
 *
 * @module
 */

import type { SqlExecutor } from '../driver/driver.js';
import {
  countDirtyRows,
  countOutboxRows,
  readAttachment,
  readOperation,
} from '../local/state-store.js';

/**
 * Unsynced local work.
 *
 * @example
 * ```ts
 * const { pendingRowCount, blocksDetach } = await client.pendingSyncStatus();
 * ```
 */
export interface PendingSyncStatus {
  readonly hasPendingSyncData: boolean;
  /** Dirty rows + rows of the frozen outbox. */
  readonly pendingRowCount: number;
  /** True when `detach()` would be blocked. */
  readonly blocksDetach: boolean;
}

/**
 * Overall sync status.
 *
 * @example
 * ```ts
 * const status = await client.syncStatus();
 * if (status.authority === 'pending_local_seed') showSeedingBanner();
 * ```
 */
export interface SyncStatus {
  /**
   * `pending_local_seed`: attached with a seed lease whose first push is not committed yet;
   * `authoritative_empty`: no synced rows; `authoritative_materialized`: synced rows exist.
   */
  readonly authority: 'pending_local_seed' | 'authoritative_empty' | 'authoritative_materialized';
  readonly pending: PendingSyncStatus;
  readonly lastBundleSeqSeen: number;
  readonly bindingState: 'anonymous' | 'attached';
  readonly attachedUserId: string | null;
  readonly rebuildRequired: boolean;
}

/**
 * Writer identity and recovery state.
 *
 * @example
 * ```ts
 * const info = await client.sourceInfo();
 * if (info.sourceRecoveryRequired) await client.rebuild();
 * ```
 */
export interface SourceInfo {
  readonly currentSourceId: string;
  readonly rebuildRequired: boolean;
  readonly sourceRecoveryRequired: boolean;
  readonly sourceRecoveryReason: string | null;
}

/**
 * Reads the pending status.
 *
 * @example
 * ```ts
 * const { hasPendingSyncData } = await readPendingStatus(db);
 * ```
 */
export async function readPendingStatus(db: SqlExecutor): Promise<PendingSyncStatus> {
  const attachment = await readAttachment(db);
  const count = (await countDirtyRows(db)) + (await countOutboxRows(db));
  return {
    hasPendingSyncData: count > 0,
    pendingRowCount: count,
    blocksDetach: attachment.bindingState === 'attached' && count > 0,
  };
}

/**
 * Reads the full status.
 *
 * @example
 * ```ts
 * const { bindingState, lastBundleSeqSeen } = await readSyncStatus(db);
 * ```
 */
export async function readSyncStatus(db: SqlExecutor): Promise<SyncStatus> {
  const attachment = await readAttachment(db);
  const pending = await readPendingStatus(db);
  const live = await db.get('SELECT 1 AS x FROM _sync_row_state WHERE deleted = 0 LIMIT 1');
  return {
    authority: attachment.pendingInitializationId
      ? 'pending_local_seed'
      : live
        ? 'authoritative_materialized'
        : 'authoritative_empty',
    pending,
    lastBundleSeqSeen: attachment.lastBundleSeqSeen,
    bindingState: attachment.bindingState,
    attachedUserId: attachment.bindingState === 'attached' ? attachment.attachedUserId : null,
    rebuildRequired: attachment.rebuildRequired,
  };
}

/**
 * Reads the source info.
 *
 * @example
 * ```ts
 * const { currentSourceId, sourceRecoveryReason } = await readSourceInfo(db);
 * ```
 */
export async function readSourceInfo(db: SqlExecutor): Promise<SourceInfo> {
  const attachment = await readAttachment(db);
  const operation = await readOperation(db);
  const recovery = operation.kind === 'source_recovery';
  return {
    currentSourceId: attachment.currentSourceId,
    rebuildRequired: attachment.rebuildRequired,
    sourceRecoveryRequired: recovery,
    sourceRecoveryReason: recovery ? operation.reason : null,
  };
}
