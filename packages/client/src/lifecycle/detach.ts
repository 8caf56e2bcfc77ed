/**
 * `detach()`: forget the user locally — wipe the managed tables and sync state and rotate to a
 * fresh source — unless unsynced rows exist (then nothing changes and the count is returned).
 *
 * @module
 */

import type { EngineContext } from '../engine-context.js';
import {
  clearOperation,
  clearOutbox,
  countDirtyRows,
  countOutboxRows,
  inApplyMode,
  readAttachment,
  readOperation,
  updateAttachment,
} from '../local/state-store.js';
import { quoteIdent } from '../local/table-info.js';

/**
 * Result of `detach`.
 *
 * @example
 * ```ts
 * const result = await client.detach();
 * if (result.outcome === 'blocked_unsynced_data') await client.sync();
 * ```
 */
export interface DetachResult {
  readonly outcome: 'detached' | 'blocked_unsynced_data';
  /** Rows that would be lost (dirty + frozen outbox rows). */
  readonly pendingRowCount: number;
}

/**
 * Detaches; the caller holds the operation lock.
 *
 * @example
 * ```ts
 * const { outcome, pendingRowCount } = await detachUser(ctx);
 * ```
 */
export async function detachUser(ctx: EngineContext): Promise<DetachResult> {
  const attachment = await readAttachment(ctx.db);
  const pending = (await countDirtyRows(ctx.db)) + (await countOutboxRows(ctx.db));
  if (attachment.bindingState === 'attached' && pending > 0) {
    return { outcome: 'blocked_unsynced_data', pendingRowCount: pending };
  }
  const operation = await readOperation(ctx.db);
  if (operation.kind === 'remote_replace') {
    // Nothing was applied yet: cancelling only drops the staged snapshot.
    await ctx.db.transaction(async (tx) => {
      await tx.run('DELETE FROM _sync_snapshot_stage');
      await clearOperation(tx);
      await updateAttachment(tx, {
        bindingState: 'anonymous',
        attachedUserId: '',
        schemaName: '',
        lastBundleSeqSeen: 0,
        rebuildRequired: false,
        pendingInitializationId: '',
      });
    });
    return { outcome: 'detached', pendingRowCount: 0 };
  }
  await inApplyMode(ctx.db, async (tx) => {
    const registered = await tx.all('SELECT table_name FROM _sync_managed_tables');
    const names = new Set<string>(ctx.schema.tables.map((t) => t.tableName));
    for (const r of registered) names.add(String(r.table_name));
    const ordered = [
      ...[...ctx.schema.tables].reverse().map((t) => t.tableName),
      ...[...names].filter((n) => !ctx.schema.byName.has(n)),
    ];
    for (const name of ordered) {
      const exists = await tx.get(
        "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?",
        [name],
      );
      if (exists) await tx.run(`DELETE FROM ${quoteIdent(name)}`);
    }
    await tx.run('DELETE FROM _sync_row_state');
    await tx.run('DELETE FROM _sync_dirty_rows');
    await tx.run('DELETE FROM _sync_snapshot_stage');
    await clearOutbox(tx);
    await clearOperation(tx);
    // A fresh writer identity per account session: the next user never continues our sequence.
    const fresh = ctx.randomUUID();
    await tx.run(
      "INSERT INTO _sync_source_state(source_id, next_source_bundle_id, replaced_by_source_id) VALUES (?, 1, '')",
      [fresh],
    );
    await tx.run('UPDATE _sync_source_state SET replaced_by_source_id = ? WHERE source_id = ?', [
      fresh,
      attachment.currentSourceId,
    ]);
    await updateAttachment(tx, {
      currentSourceId: fresh,
      bindingState: 'anonymous',
      attachedUserId: '',
      schemaName: '',
      lastBundleSeqSeen: 0,
      rebuildRequired: false,
      pendingInitializationId: '',
    });
  });
  ctx.events.emit('tablesChanged', {
    tables: ctx.schema.tables.map((t) => t.tableName),
    cause: 'detach',
  });
  return { outcome: 'detached', pendingRowCount: 0 };
}
