/**
 * Snapshot rebuild: download the server's full state for this user into the invisible
 * `_sync_snapshot_stage` (one transaction per chunk, row- and byte-bounded), then replace the
 * managed tables in ONE apply-mode transaction that also moves the checkpoint and clears the
 * rebuild gate. A crash before that transaction leaves the app data untouched; a crash inside
 * it rolls back.
 *
 * Modes:
 * - `keep_source` — `history_pruned` / `checkpoint_ahead` / explicit rebuild;
 * - `rotate_source` — source recovery: the snapshot session rotates to the reserved replacement
 *   source and the preserved prepared outbox is replayed on top and retargeted to it;
 * - `preserve_committed` — our committed bundle can no longer be fetched: a snapshot at or after
 *   it stands in for the replay;
 * - `remote_replace` — attach to a user whose server state wins over anonymous local rows.
 *
 * Local edits that are still in `_sync_dirty_rows` survive every mode except `remote_replace`:
 * they are written back on top of the snapshot with their original base version, so pushing
 * them meets the normal conflict rules instead of being silently dropped.
 *
 * @module
 */

import type { SnapshotSession } from '@oversync/protocol';
import type { SqlExecutor, SqlValue } from '../driver/driver.js';
import type { EngineContext } from '../engine-context.js';
import { clientError, isOversyncClientError } from '../errors.js';
import { enterSourceRecovery, SOURCE_RECOVERY_REASONS } from '../lifecycle/source-recovery.js';
import { upsertSql } from '../local/apply-sql.js';
import type { ManagedTable } from '../local/local-schema-types.js';
import { deleteAppRow, writeWireRow } from '../local/row-writes.js';
import {
  clearOperation,
  clearOutbox,
  inApplyMode,
  raiseNextSourceBundleId,
  readAttachment,
  readDirtyRows,
  readOperation,
  readOutboxHeader,
  readOutboxRows,
  updateAttachment,
  writeOperation,
} from '../local/state-store.js';
import { quoteIdent } from '../local/table-info.js';
import {
  localPayloadToWire,
  wireKeyToLocalKeyJson,
  wirePayloadToRow,
} from '../local/value-codec.js';
import { tableFor } from '../push/replay.js';
import { callRemote } from '../remote/call.js';
import { checkCapabilities, negotiateSnapshotLimits } from '../remote/handshake.js';
import type { RequestContext } from '../remote/remote-api.js';
import { withSnapshotCapacityRetry } from '../remote/snapshot-capacity-retry.js';
import { validateSnapshotChunk, validateSnapshotSession } from '../remote/validate-responses.js';

/**
 * How a rebuild treats local state.
 *
 * @example
 * ```ts
 * const mode: RebuildMode = operation.kind === 'source_recovery' ? 'rotate_source' : 'keep_source';
 * ```
 */
export type RebuildMode = 'keep_source' | 'rotate_source' | 'preserve_committed' | 'remote_replace';

/**
 * Result of a rebuild.
 *
 * @example
 * ```ts
 * const { bundleSeq, rowCount, sourceId } = await rebuildFromSnapshot(ctx, { mode: 'keep_source' });
 * ```
 */
export interface RestoreSummary {
  readonly bundleSeq: number;
  readonly rowCount: number;
  readonly byteCount: number;
  /** The source id after the rebuild (differs from before for `rotate_source`). */
  readonly sourceId: string;
}

interface StagedSnapshot {
  readonly snapshotId: string;
  readonly bundleSeq: number;
  readonly rowCount: number;
  readonly byteCount: number;
}

/**
 * Options of {@link rebuildFromSnapshot}.
 *
 * @example
 * ```ts
 * const options: RebuildOptions = { mode: 'remote_replace', userId: 'user-123', signal };
 * ```
 */
export interface RebuildOptions {
  readonly mode: RebuildMode;
  /** For `remote_replace`: the user being attached. */
  readonly userId?: string;
  readonly signal?: AbortSignal;
}

/**
 * Runs a full rebuild in the given mode.
 *
 * @example
 * ```ts
 * const restore = await rebuildFromSnapshot(ctx, { mode: 'keep_source', signal });
 * ```
 */
export async function rebuildFromSnapshot(
  ctx: EngineContext,
  options: RebuildOptions,
): Promise<RestoreSummary> {
  const { mode, signal } = options;
  const attachment = await readAttachment(ctx.db);
  const operation = await readOperation(ctx.db);
  const previousSourceId = attachment.currentSourceId;
  let sourceId = previousSourceId;
  let replacement:
    | { previous_source_id: string; new_source_id: string; reason: string }
    | undefined;

  if (mode === 'rotate_source') {
    if (operation.kind !== 'source_recovery' || !operation.replacementSourceId) {
      throw clientError(
        'protocol_error',
        'rotate_source rebuild without a reserved replacement source',
      );
    }
    const reason = operation.reason;
    if (!(SOURCE_RECOVERY_REASONS as readonly string[]).includes(reason)) {
      throw clientError(
        'invalid_source_recovery_reason',
        `unknown persisted source recovery reason "${reason}"`,
        {
          reason,
        },
      );
    }
    // The replacement's freshness is checked after staging, right before the final apply (as
    // the reference runtimes do): the rotated snapshot session is requested either way.
    replacement = {
      previous_source_id: previousSourceId,
      new_source_id: operation.replacementSourceId,
      reason,
    };
    sourceId = operation.replacementSourceId;
  } else if (mode !== 'remote_replace') {
    // The gate is durable before any snapshot work, so a crash resumes the recovery.
    await ctx.db.transaction((tx) => updateAttachment(tx, { rebuildRequired: true }));
  }

  const req: RequestContext = { sourceId: previousSourceId, ...(signal ? { signal } : {}) };
  let staged: StagedSnapshot;
  if (
    mode === 'remote_replace' &&
    operation.kind === 'remote_replace' &&
    operation.snapshotStageComplete &&
    operation.stagedSnapshotId
  ) {
    staged = {
      snapshotId: operation.stagedSnapshotId,
      bundleSeq: operation.snapshotBundleSeq,
      rowCount: operation.snapshotRowCount,
      byteCount: operation.snapshotByteCount,
    };
  } else {
    staged = await stageSnapshot(ctx, req, mode, replacement, options.userId);
  }

  let tables: string[];
  try {
    if (mode === 'rotate_source') await assertFreshReplacement(ctx.db, sourceId);

    if (mode === 'preserve_committed') {
      const header = await readOutboxHeader(ctx.db);
      if (header.state === 'committed_remote' && staged.bundleSeq < header.remoteBundleSeq) {
        throw clientError(
          'protocol_error',
          `snapshot at bundle ${staged.bundleSeq} is older than our committed bundle ${header.remoteBundleSeq}`,
        );
      }
    }

    tables = await applyStagedSnapshot(ctx, staged, mode, {
      previousSourceId,
      newSourceId: sourceId,
      ...(options.userId ? { userId: options.userId } : {}),
    });
  } finally {
    // Best effort, applied or not: the staged rows (if any) no longer need the session.
    await retireSnapshotSession(ctx, previousSourceId, staged.snapshotId);
  }
  ctx.events.emit('tablesChanged', { tables, cause: 'snapshot' });
  return {
    bundleSeq: staged.bundleSeq,
    rowCount: staged.rowCount,
    byteCount: staged.byteCount,
    sourceId,
  };
}

/** Best-effort `DELETE /sync/snapshot-sessions/{id}` under the source that created it. */
async function retireSnapshotSession(
  ctx: EngineContext,
  sourceId: string,
  snapshotId: string,
): Promise<void> {
  await ctx.remote.deleteSnapshotSession({ sourceId }, snapshotId).catch(() => undefined);
}

async function assertFreshReplacement(db: SqlExecutor, replacementId: string): Promise<void> {
  const row = await db.get(
    'SELECT next_source_bundle_id, replaced_by_source_id FROM _sync_source_state WHERE source_id = ?',
    [replacementId],
  );
  if (!row) {
    throw clientError(
      'source_replacement_invalid',
      `reserved replacement source ${replacementId} has no _sync_source_state row`,
    );
  }
  if (Number(row.next_source_bundle_id) !== 1 || String(row.replaced_by_source_id) !== '') {
    throw clientError(
      'source_replacement_invalid',
      `reserved replacement source ${replacementId} is not fresh (it was used or replaced before)`,
    );
  }
}

async function stageSnapshot(
  ctx: EngineContext,
  req: RequestContext,
  mode: RebuildMode,
  replacement: { previous_source_id: string; new_source_id: string; reason: string } | undefined,
  userId: string | undefined,
): Promise<StagedSnapshot> {
  const caps = await callRemote(ctx, () => ctx.remote.capabilities(req), req.signal);
  // Same gate as attach: an incompatible server stops the rebuild before any stage or session
  // work, so a resumed remote replace keeps its staged state.
  checkCapabilities(caps, {
    schema: ctx.schema.schema,
    tables: ctx.schema.tables.map((t) => ({ tableName: t.tableName, keyColumn: t.keyColumn })),
  });
  const limits = negotiateSnapshotLimits(caps.bundle_limits, {
    snapshotChunkRows: ctx.limits.snapshotChunkRows,
    snapshotChunkBytes: ctx.limits.snapshotChunkBytes,
  });
  await ctx.db.run('DELETE FROM _sync_snapshot_stage');
  const capacity = {
    maxWaitMs: ctx.snapshotCapacityRetryMs,
    sleep: ctx.sleep,
    now: ctx.now,
    random: ctx.random,
  };
  let session: SnapshotSession;
  try {
    session = await withSnapshotCapacityRetry(
      () =>
        callRemote(
          ctx,
          () =>
            ctx.remote.createSnapshotSession(
              req,
              replacement ? { source_replacement: replacement as never } : undefined,
            ),
          req.signal,
        ),
      capacity,
    );
  } catch (error) {
    throw await classifySnapshotSessionError(ctx, error, req.sourceId, mode);
  }
  validateSnapshotSession(session);
  if (mode === 'remote_replace' && userId) {
    await ctx.db.transaction((tx) =>
      writeOperation(tx, {
        kind: 'remote_replace',
        targetUserId: userId,
        stagedSnapshotId: session.snapshot_id,
        snapshotBundleSeq: session.snapshot_bundle_seq,
        snapshotRowCount: session.row_count,
        snapshotByteCount: session.byte_count,
        snapshotStageComplete: false,
      }),
    );
  }

  try {
    let after = 0;
    let rows = 0;
    let bytes = 0;
    const fetchChunk = (afterRowOrdinal: number) =>
      withSnapshotCapacityRetry(
        () =>
          callRemote(
            ctx,
            () =>
              ctx.remote.snapshotChunk(req, session.snapshot_id, {
                afterRowOrdinal,
                maxRows: limits.maxRows,
                maxBytes: limits.maxBytes,
              }),
            req.signal,
          ),
        capacity,
      );
    // One chunk of prefetch: the server (and its database) prepares chunk k+1 while this
    // process stages chunk k. Order and durability are unchanged: chunks are validated and
    // staged strictly in sequence, and a prefetched chunk is dropped if staging fails.
    let pending = fetchChunk(0);
    for (;;) {
      const afterRowOrdinal = after;
      const chunk = await pending;
      validateSnapshotChunk(chunk, {
        snapshotId: session.snapshot_id,
        afterRowOrdinal,
        maxRows: limits.maxRows,
        maxBytes: limits.maxBytes,
        session,
        rowsSoFar: rows,
        bytesSoFar: bytes,
      });
      if (chunk.has_more) {
        pending = fetchChunk(chunk.next_row_ordinal);
        // Observed below on the next iteration; a failure after staging fails is irrelevant.
        pending.catch(() => undefined);
      }
      if (chunk.rows.length > 0) {
        const params: SqlValue[][] = chunk.rows.map((r, i) => {
          const table = tableFor(ctx, r.schema, r.table);
          return [
            session.snapshot_id,
            afterRowOrdinal + i + 1,
            r.schema,
            table.tableName,
            wireKeyToLocalKeyJson(table, r.key),
            r.row_version,
            // Internal stage text, read back with JSON.parse: the native serialiser is enough.
            JSON.stringify(r.payload),
          ];
        });
        await ctx.db.transaction(async (tx) => {
          await tx.runBatch(
            `INSERT INTO _sync_snapshot_stage(snapshot_id, row_ordinal, schema_name, table_name, key_json, row_version, payload)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
            params,
          );
        });
      }
      rows += chunk.rows.length;
      bytes += chunk.byte_count;
      ctx.events.emit('progress', {
        operation: 'snapshot',
        rows,
        totalRows: session.row_count,
        bytes,
        totalBytes: session.byte_count,
      });
      after = chunk.next_row_ordinal;
      if (!chunk.has_more) break;
    }
    if (rows !== session.row_count) {
      throw clientError(
        'protocol_error',
        `snapshot final row total ${rows} does not match session row_count ${session.row_count}`,
      );
    }
    if (bytes !== session.byte_count) {
      throw clientError(
        'protocol_error',
        `snapshot final byte total ${bytes} does not match session byte_count ${session.byte_count}`,
      );
    }
    if (mode === 'remote_replace' && userId) {
      await ctx.db.run(
        'UPDATE _sync_operation_state SET snapshot_stage_complete = 1 WHERE singleton_key = 1',
      );
    }
  } catch (error) {
    await retireSnapshotSession(ctx, req.sourceId, session.snapshot_id);
    throw error;
  }
  return {
    snapshotId: session.snapshot_id,
    bundleSeq: session.snapshot_bundle_seq,
    rowCount: session.row_count,
    byteCount: session.byte_count,
  };
}

/**
 * Maps typed `409` answers of `POST /sync/snapshot-sessions` the way the reference runtimes do:
 * `source_replacement_invalid` → `source_replacement_invalid`; `source_retired` (its `source_id`
 * must be ours) and the source-sequence / `history_pruned` codes enter source recovery (reserving
 * the server's `replaced_by_source_id`, or failing with `source_replacement_diverged` when another
 * replacement is already reserved) and surface as `source_recovery_required`. Anything else is
 * returned unchanged. A remote replace (attach) never enters source recovery.
 */
async function classifySnapshotSessionError(
  ctx: EngineContext,
  error: unknown,
  requestSourceId: string,
  mode: RebuildMode,
): Promise<unknown> {
  if (!isOversyncClientError(error, 'http_error') || error.details.status !== 409) return error;
  const code = error.details.serverError;
  if (code === 'source_replacement_invalid') {
    return clientError(
      'source_replacement_invalid',
      'the server rejected the snapshot source replacement',
      { status: 409, serverError: code },
      error,
    );
  }
  if (mode === 'remote_replace' || code === undefined) return error;
  if (!(SOURCE_RECOVERY_REASONS as readonly string[]).includes(code)) return error;
  let suggested: string | undefined;
  if (code === 'source_retired') {
    const body = error.details.body as
      | { source_id?: unknown; replaced_by_source_id?: unknown }
      | undefined;
    if (body?.source_id !== requestSourceId) {
      return clientError(
        'protocol_error',
        'source_retired answer names another source_id',
        { body },
        error,
      );
    }
    const replacement = body.replaced_by_source_id;
    if (replacement !== undefined) {
      if (typeof replacement !== 'string' || replacement === '') {
        return clientError(
          'protocol_error',
          'source_retired answer has an invalid replaced_by_source_id',
          { body },
          error,
        );
      }
      suggested = replacement;
    }
  }
  await enterSourceRecovery(ctx, code, suggested);
  return clientError(
    'source_recovery_required',
    `source recovery required: ${code}`,
    {
      reason: code,
      status: 409,
    },
    error,
  );
}

async function applyStagedSnapshot(
  ctx: EngineContext,
  staged: StagedSnapshot,
  mode: RebuildMode,
  ids: { previousSourceId: string; newSourceId: string; userId?: string },
): Promise<string[]> {
  const tables = ctx.schema.tables;
  return inApplyMode(ctx.db, async (tx) => {
    const dirty = mode === 'remote_replace' ? [] : await readDirtyRows(tx);
    const outbox = await readOutboxHeader(tx);
    const outboxRows = outbox.state === 'prepared' ? await readOutboxRows(tx) : [];

    // Children first, so ON DELETE actions have nothing left to do.
    for (const table of [...tables].reverse()) {
      await tx.run(`DELETE FROM ${quoteIdent(table.tableName)}`);
    }
    await tx.run('DELETE FROM _sync_row_state');

    // Page through the stage in row order, one prepared batch per table and page.
    let applied = 0;
    let lastOrdinal = -1;
    for (;;) {
      const page = await tx.all(
        `SELECT row_ordinal, table_name, key_json, row_version, payload FROM _sync_snapshot_stage
         WHERE snapshot_id = ? AND row_ordinal > ? ORDER BY row_ordinal LIMIT ?`,
        [staged.snapshotId, lastOrdinal, ctx.limits.snapshotApplyBatchRows],
      );
      if (page.length === 0) break;
      const byTable = new Map<ManagedTable, SqlValue[][]>();
      const states: SqlValue[][] = [];
      for (const r of page) {
        const table = tableFor(ctx, ctx.schema.schema, String(r.table_name));
        const payload = JSON.parse(String(r.payload)) as Record<string, unknown>;
        let list = byTable.get(table);
        if (!list) {
          list = [];
          byTable.set(table, list);
        }
        list.push(wirePayloadToRow(table, payload));
        states.push([
          ctx.schema.schema,
          table.tableName,
          String(r.key_json),
          r.row_version as SqlValue,
        ]);
        lastOrdinal = Number(r.row_ordinal);
      }
      for (const [table, params] of byTable) await tx.runBatch(upsertSql(table), params);
      await tx.runBatch(
        `INSERT INTO _sync_row_state(schema_name, table_name, key_json, row_version, deleted, updated_at)
         VALUES (?, ?, ?, ?, 0, strftime('%Y-%m-%dT%H:%M:%fZ','now'))`,
        states,
      );
      applied += page.length;
      ctx.events.emit('progress', {
        operation: 'apply_snapshot',
        rows: applied,
        totalRows: staged.rowCount,
        bytes: 0,
      });
    }
    if (applied !== staged.rowCount) {
      throw clientError(
        'protocol_error',
        `snapshot final row total ${applied} does not match session row_count ${staged.rowCount}`,
      );
    }

    // Preserved local intent goes back on top: first the frozen outbox (older), then the
    // dirty rows (newer), each in parents-first order.
    if (mode === 'rotate_source') {
      await reapplyIntent(
        tx,
        ctx,
        outboxRows.map((r) => ({
          tableName: r.tableName,
          keyJson: r.keyJson,
          payload: r.localPayload,
        })),
      );
    }
    await reapplyIntent(
      tx,
      ctx,
      dirty.map((d) => ({ tableName: d.tableName, keyJson: d.keyJson, payload: d.payload })),
    );
    if (mode === 'remote_replace') await tx.run('DELETE FROM _sync_dirty_rows');

    if (mode === 'rotate_source') {
      await tx.run(
        `INSERT INTO _sync_source_state(source_id, next_source_bundle_id, replaced_by_source_id) VALUES (?, 1, '')
         ON CONFLICT(source_id) DO NOTHING`,
        [ids.newSourceId],
      );
      await tx.run('UPDATE _sync_source_state SET replaced_by_source_id = ? WHERE source_id = ?', [
        ids.newSourceId,
        ids.previousSourceId,
      ]);
      if (outbox.state === 'prepared') {
        await tx.run('UPDATE _sync_outbox_rows SET source_bundle_id = 1');
        await tx.run(
          `UPDATE _sync_outbox_bundle SET source_id = ?, source_bundle_id = 1 WHERE singleton_key = 1`,
          [ids.newSourceId],
        );
        await raiseNextSourceBundleId(tx, ids.newSourceId, 2);
      }
      await updateAttachment(tx, { currentSourceId: ids.newSourceId });
    } else if (mode === 'preserve_committed') {
      if (outbox.state === 'committed_remote') {
        await raiseNextSourceBundleId(tx, outbox.sourceId, outbox.sourceBundleId + 1);
      }
      await clearOutbox(tx);
    } else if (mode === 'remote_replace') {
      await clearOutbox(tx);
      await updateAttachment(tx, {
        bindingState: 'attached',
        attachedUserId: ids.userId ?? '',
        schemaName: ctx.schema.schema,
        pendingInitializationId: '',
      });
    }
    await updateAttachment(tx, { lastBundleSeqSeen: staged.bundleSeq, rebuildRequired: false });
    await clearOperation(tx);
    await tx.run('DELETE FROM _sync_snapshot_stage');
    return tables.map((t) => t.tableName);
  });
}

async function reapplyIntent(
  tx: SqlExecutor,
  ctx: EngineContext,
  rows: readonly { tableName: string; keyJson: string; payload: string | null }[],
): Promise<void> {
  const ordered = [...rows].sort((a, b) => {
    const ta = ctx.schema.byName.get(a.tableName)?.order ?? 0;
    const tb = ctx.schema.byName.get(b.tableName)?.order ?? 0;
    const da = a.payload === null ? 1 : 0;
    const db = b.payload === null ? 1 : 0;
    if (da !== db) return da - db;
    return da ? tb - ta : ta - tb;
  });
  for (const r of ordered) {
    const table = tableFor(ctx, ctx.schema.schema, r.tableName);
    if (r.payload === null) await deleteAppRow(tx, table, r.keyJson);
    else await writeWireRow(tx, table, localPayloadToWire(table, r.payload));
  }
}
