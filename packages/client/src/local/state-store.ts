/**
 * Reads and writes of the durable `_sync_*` runtime state. Every workflow goes through these
 * helpers so that the column names of the catalog live in one place.
 *
 * @module
 */

import type { SqlExecutor, SqlValue } from '../driver/driver.js';

/**
 * `_sync_attachment_state`.
 *
 * @example
 * ```ts
 * const { bindingState, attachedUserId } = await readAttachment(db);
 * ```
 */
export interface AttachmentState {
  readonly currentSourceId: string;
  readonly bindingState: 'anonymous' | 'attached';
  readonly attachedUserId: string;
  readonly schemaName: string;
  readonly lastBundleSeqSeen: number;
  readonly rebuildRequired: boolean;
  readonly pendingInitializationId: string;
}

/**
 * Kinds of durable multi-step operations.
 *
 * @example
 * ```ts
 * const { kind } = await readOperation(db);
 * if (kind === 'source_recovery') await client.rebuild();
 * ```
 */
export type OperationKind = 'none' | 'remote_replace' | 'source_recovery';

/**
 * `_sync_operation_state`.
 *
 * @example
 * ```ts
 * const op: OperationState = await readOperation(db);
 * if (op.kind === 'remote_replace') console.log(op.targetUserId);
 * ```
 */
export interface OperationState {
  readonly kind: OperationKind;
  readonly targetUserId: string;
  readonly reason: string;
  readonly replacementSourceId: string;
  readonly stagedSnapshotId: string;
  readonly snapshotBundleSeq: number;
  readonly snapshotRowCount: number;
  readonly snapshotByteCount: number;
  readonly snapshotStageComplete: boolean;
}

/**
 * `_sync_outbox_bundle`.
 *
 * @example
 * ```ts
 * const header: OutboxHeader = await readOutboxHeader(db);
 * if (header.state === 'committed_remote') console.log(header.remoteBundleSeq);
 * ```
 */
export interface OutboxHeader {
  readonly state: 'none' | 'prepared' | 'committed_remote';
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly initializationId: string;
  readonly canonicalRequestHash: string;
  readonly rowCount: number;
  readonly remoteBundleHash: string;
  readonly remoteBundleSeq: number;
}

/**
 * One `_sync_outbox_rows` row.
 *
 * @example
 * ```ts
 * for (const row of await readOutboxRows(db)) console.log(row.rowOrdinal, row.tableName, row.op);
 * ```
 */
export interface OutboxRow {
  readonly sourceBundleId: number;
  readonly rowOrdinal: number;
  readonly schemaName: string;
  readonly tableName: string;
  readonly keyJson: string;
  readonly wireKeyJson: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly baseRowVersion: number;
  readonly localPayload: string | null;
  readonly wirePayload: string | null;
}

/**
 * One `_sync_dirty_rows` row.
 *
 * @example
 * ```ts
 * for (const row of await readDirtyRows(db)) console.log(row.tableName, row.keyJson, row.op);
 * ```
 */
export interface DirtyRow {
  readonly schemaName: string;
  readonly tableName: string;
  readonly keyJson: string;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly baseRowVersion: number;
  readonly payload: string | null;
  readonly dirtyOrdinal: number;
}

const num = (v: SqlValue | undefined): number =>
  typeof v === 'bigint' ? Number(v) : Number(v ?? 0);
const str = (v: SqlValue | undefined): string => (v === null || v === undefined ? '' : String(v));

/**
 * Reads `_sync_attachment_state`.
 *
 * @example
 * ```ts
 * const { lastBundleSeqSeen } = await readAttachment(db);
 * ```
 */
export async function readAttachment(db: SqlExecutor): Promise<AttachmentState> {
  const r = await db.get(
    'SELECT current_source_id, binding_state, attached_user_id, schema_name, last_bundle_seq_seen, rebuild_required, pending_initialization_id FROM _sync_attachment_state WHERE singleton_key = 1',
  );
  if (!r) throw new Error('_sync_attachment_state singleton row is missing');
  return {
    currentSourceId: str(r.current_source_id),
    bindingState: str(r.binding_state) === 'attached' ? 'attached' : 'anonymous',
    attachedUserId: str(r.attached_user_id),
    schemaName: str(r.schema_name),
    lastBundleSeqSeen: num(r.last_bundle_seq_seen),
    rebuildRequired: num(r.rebuild_required) !== 0,
    pendingInitializationId: str(r.pending_initialization_id),
  };
}

/**
 * Reads `_sync_operation_state`.
 *
 * @example
 * ```ts
 * const operation = await readOperation(db);
 * if (operation.kind === 'source_recovery') console.log(operation.reason);
 * ```
 */
export async function readOperation(db: SqlExecutor): Promise<OperationState> {
  const r = await db.get(
    'SELECT kind, target_user_id, reason, replacement_source_id, staged_snapshot_id, snapshot_bundle_seq, snapshot_row_count, snapshot_byte_count, snapshot_stage_complete FROM _sync_operation_state WHERE singleton_key = 1',
  );
  if (!r) throw new Error('_sync_operation_state singleton row is missing');
  return {
    kind: str(r.kind) as OperationKind,
    targetUserId: str(r.target_user_id),
    reason: str(r.reason),
    replacementSourceId: str(r.replacement_source_id),
    stagedSnapshotId: str(r.staged_snapshot_id),
    snapshotBundleSeq: num(r.snapshot_bundle_seq),
    snapshotRowCount: num(r.snapshot_row_count),
    snapshotByteCount: num(r.snapshot_byte_count),
    snapshotStageComplete: num(r.snapshot_stage_complete) !== 0,
  };
}

/**
 * Reads `_sync_outbox_bundle`.
 *
 * @example
 * ```ts
 * const { state, sourceBundleId } = await readOutboxHeader(db);
 * ```
 */
export async function readOutboxHeader(db: SqlExecutor): Promise<OutboxHeader> {
  const r = await db.get(
    'SELECT state, source_id, source_bundle_id, initialization_id, canonical_request_hash, row_count, remote_bundle_hash, remote_bundle_seq FROM _sync_outbox_bundle WHERE singleton_key = 1',
  );
  if (!r) throw new Error('_sync_outbox_bundle singleton row is missing');
  return {
    state: str(r.state) as OutboxHeader['state'],
    sourceId: str(r.source_id),
    sourceBundleId: num(r.source_bundle_id),
    initializationId: str(r.initialization_id),
    canonicalRequestHash: str(r.canonical_request_hash),
    rowCount: num(r.row_count),
    remoteBundleHash: str(r.remote_bundle_hash),
    remoteBundleSeq: num(r.remote_bundle_seq),
  };
}

/**
 * Reads every outbox row in `row_ordinal` order.
 *
 * @example
 * ```ts
 * const rows = await readOutboxRows(tx);
 * ```
 */
export async function readOutboxRows(db: SqlExecutor): Promise<OutboxRow[]> {
  const rows = await db.all(
    'SELECT source_bundle_id, row_ordinal, schema_name, table_name, key_json, wire_key_json, op, base_row_version, local_payload, wire_payload FROM _sync_outbox_rows ORDER BY source_bundle_id, row_ordinal',
  );
  return rows.map((r) => ({
    sourceBundleId: num(r.source_bundle_id),
    rowOrdinal: num(r.row_ordinal),
    schemaName: str(r.schema_name),
    tableName: str(r.table_name),
    keyJson: str(r.key_json),
    wireKeyJson: str(r.wire_key_json),
    op: str(r.op) as OutboxRow['op'],
    baseRowVersion: num(r.base_row_version),
    localPayload: r.local_payload === null ? null : str(r.local_payload),
    wirePayload: r.wire_payload === null ? null : str(r.wire_payload),
  }));
}

/**
 * Reads every dirty row ordered by `dirty_ordinal`.
 *
 * @example
 * ```ts
 * const dirty = await readDirtyRows(tx);
 * ```
 */
export async function readDirtyRows(db: SqlExecutor): Promise<DirtyRow[]> {
  const rows = await db.all(
    'SELECT schema_name, table_name, key_json, op, base_row_version, payload, dirty_ordinal FROM _sync_dirty_rows ORDER BY dirty_ordinal, table_name, key_json',
  );
  return rows.map((r) => ({
    schemaName: str(r.schema_name),
    tableName: str(r.table_name),
    keyJson: str(r.key_json),
    op: str(r.op) as DirtyRow['op'],
    baseRowVersion: num(r.base_row_version),
    payload: r.payload === null ? null : str(r.payload),
    dirtyOrdinal: num(r.dirty_ordinal),
  }));
}

/**
 * Number of dirty rows.
 *
 * @example
 * ```ts
 * const pending = (await countDirtyRows(db)) + (await countOutboxRows(db));
 * ```
 */
export async function countDirtyRows(db: SqlExecutor): Promise<number> {
  return num((await db.get('SELECT COUNT(*) AS n FROM _sync_dirty_rows'))?.n);
}

/**
 * Number of outbox rows.
 *
 * @example
 * ```ts
 * if ((await countOutboxRows(db)) > 0) console.log('a frozen upload is pending');
 * ```
 */
export async function countOutboxRows(db: SqlExecutor): Promise<number> {
  return num((await db.get('SELECT COUNT(*) AS n FROM _sync_outbox_rows'))?.n);
}

/**
 * `next_source_bundle_id` of a source (1 when the row is missing).
 *
 * @example
 * ```ts
 * const sourceBundleId = await readNextSourceBundleId(tx, attachment.currentSourceId);
 * ```
 */
export async function readNextSourceBundleId(db: SqlExecutor, sourceId: string): Promise<number> {
  const r = await db.get(
    'SELECT next_source_bundle_id FROM _sync_source_state WHERE source_id = ?',
    [sourceId],
  );
  return r ? num(r.next_source_bundle_id) : 1;
}

/**
 * Raises a source's `next_source_bundle_id` to at least `atLeast` (creating the row if needed).
 *
 * @example
 * ```ts
 * await raiseNextSourceBundleId(tx, header.sourceId, header.sourceBundleId + 1);
 * ```
 */
export async function raiseNextSourceBundleId(
  db: SqlExecutor,
  sourceId: string,
  atLeast: number,
): Promise<void> {
  await db.run(
    `INSERT INTO _sync_source_state(source_id, next_source_bundle_id, replaced_by_source_id) VALUES (?, ?, '')
     ON CONFLICT(source_id) DO UPDATE SET next_source_bundle_id = MAX(next_source_bundle_id, excluded.next_source_bundle_id)`,
    [sourceId, atLeast],
  );
}

/**
 * Sets columns of `_sync_attachment_state` (only the ones given).
 *
 * @example
 * ```ts
 * await db.transaction((tx) => updateAttachment(tx, { rebuildRequired: true }));
 * ```
 */
export async function updateAttachment(
  db: SqlExecutor,
  patch: Partial<{
    currentSourceId: string;
    bindingState: 'anonymous' | 'attached';
    attachedUserId: string;
    schemaName: string;
    lastBundleSeqSeen: number;
    rebuildRequired: boolean;
    pendingInitializationId: string;
  }>,
): Promise<void> {
  const cols: string[] = [];
  const params: SqlValue[] = [];
  const map: Record<string, string> = {
    currentSourceId: 'current_source_id',
    bindingState: 'binding_state',
    attachedUserId: 'attached_user_id',
    schemaName: 'schema_name',
    lastBundleSeqSeen: 'last_bundle_seq_seen',
    rebuildRequired: 'rebuild_required',
    pendingInitializationId: 'pending_initialization_id',
  };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    cols.push(`${map[k]} = ?`);
    params.push(typeof v === 'boolean' ? (v ? 1 : 0) : (v as SqlValue));
  }
  if (cols.length === 0) return;
  await db.run(
    `UPDATE _sync_attachment_state SET ${cols.join(', ')} WHERE singleton_key = 1`,
    params,
  );
}

/**
 * Resets `_sync_operation_state` to kind `none` (every column back to its default).
 *
 * @example
 * ```ts
 * await db.transaction((tx) => clearOperation(tx));
 * ```
 */
export async function clearOperation(db: SqlExecutor): Promise<void> {
  await db.run(
    `UPDATE _sync_operation_state SET kind = 'none', target_user_id = '', reason = '', replacement_source_id = '',
       staged_snapshot_id = '', snapshot_bundle_seq = 0, snapshot_row_count = 0, snapshot_byte_count = 0,
       snapshot_stage_complete = 0 WHERE singleton_key = 1`,
  );
}

/**
 * Writes `_sync_operation_state` (unspecified columns reset to defaults).
 *
 * @example
 * ```ts
 * await writeOperation(tx, { kind: 'remote_replace', targetUserId: 'user-123' });
 * ```
 */
export async function writeOperation(db: SqlExecutor, op: Partial<OperationState>): Promise<void> {
  await db.run(
    `UPDATE _sync_operation_state SET kind = ?, target_user_id = ?, reason = ?, replacement_source_id = ?,
       staged_snapshot_id = ?, snapshot_bundle_seq = ?, snapshot_row_count = ?, snapshot_byte_count = ?,
       snapshot_stage_complete = ? WHERE singleton_key = 1`,
    [
      op.kind ?? 'none',
      op.targetUserId ?? '',
      op.reason ?? '',
      op.replacementSourceId ?? '',
      op.stagedSnapshotId ?? '',
      op.snapshotBundleSeq ?? 0,
      op.snapshotRowCount ?? 0,
      op.snapshotByteCount ?? 0,
      op.snapshotStageComplete ? 1 : 0,
    ],
  );
}

/**
 * Clears the outbox header and rows.
 *
 * @example
 * ```ts
 * await db.transaction((tx) => clearOutbox(tx));
 * ```
 */
export async function clearOutbox(db: SqlExecutor): Promise<void> {
  await db.run('DELETE FROM _sync_outbox_rows');
  await db.run(
    `UPDATE _sync_outbox_bundle SET state = 'none', source_id = '', source_bundle_id = 0, initialization_id = '',
       canonical_request_hash = '', row_count = 0, remote_bundle_hash = '', remote_bundle_seq = 0 WHERE singleton_key = 1`,
  );
}

/**
 * Runs `fn` in one write transaction with deferred foreign keys and capture suppressed
 * (`apply_mode = 1`). The flag is reset before COMMIT, so it is never committed as 1.
 *
 * @example
 * ```ts
 * await inApplyMode(db, async (tx) => {
 *   await tx.run('DELETE FROM todos');
 * });
 * ```
 */
export async function inApplyMode<T>(
  db: { transaction<R>(fn: (tx: SqlExecutor) => Promise<R>): Promise<R> },
  fn: (tx: SqlExecutor) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    await tx.run('UPDATE _sync_apply_state SET apply_mode = 1 WHERE singleton_key = 1');
    const result = await fn(tx);
    await tx.run('UPDATE _sync_apply_state SET apply_mode = 0 WHERE singleton_key = 1');
    return result;
  });
}
