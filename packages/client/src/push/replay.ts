/**
 * Committed replay: writes the server's committed copy of our own bundle locally, in one
 * apply-mode transaction, without losing local edits made after the freeze.
 *
 * Per uploaded row, the current live row and dirty row decide: if the app changed the key since
 * the freeze, local intent is kept (row_state moves to the committed version and the intent is
 * requeued on top of it, so the next push is not a conflict); otherwise the committed row (the
 * server's spelling) is accepted.
 *
 * @module
 */

import type { CommittedBundleRowsResponse } from '@oversync/protocol';
import type { EngineContext } from '../engine-context.js';
import { clientError } from '../errors.js';
import type { ManagedTable } from '../local/local-schema-types.js';
import {
  deleteAppRow,
  deleteDirty,
  readDirty,
  readLivePayload,
  requeueDirty,
  setRowState,
  writeWireRow,
} from '../local/row-writes.js';
import {
  clearOutbox,
  inApplyMode,
  type OutboxHeader,
  raiseNextSourceBundleId,
  readAttachment,
  readOutboxRows,
  updateAttachment,
} from '../local/state-store.js';
import { wireKeyToLocalKeyJson } from '../local/value-codec.js';

/**
 * Replays a committed bundle; returns the app tables it changed.
 *
 * @example
 * ```ts
 * const tables = await replayCommittedBundle(ctx, header, committedRows);
 * ```
 */
export async function replayCommittedBundle(
  ctx: EngineContext,
  header: OutboxHeader,
  committed: CommittedBundleRowsResponse['rows'],
): Promise<string[]> {
  const changed = new Set<string>();
  await inApplyMode(ctx.db, async (tx) => {
    const uploaded = new Map<string, Awaited<ReturnType<typeof readOutboxRows>>[number]>();
    for (const r of await readOutboxRows(tx)) uploaded.set(`${r.tableName}\u0000${r.keyJson}`, r);

    for (const row of committed) {
      const table = tableFor(ctx, row.schema, row.table);
      const keyJson = wireKeyToLocalKeyJson(table, row.key);
      const up = uploaded.get(`${table.tableName}\u0000${keyJson}`);
      const deleted = row.op === 'DELETE';
      const live = await readLivePayload(tx, table, keyJson);
      const dirty = await readDirty(tx, table, keyJson);

      if (!up) {
        // A row the server added to our bundle (e.g. a server-side trigger): authoritative,
        // unless the app has since changed the key locally (then only rebase).
        if (dirty) {
          await setRowState(tx, table, keyJson, row.row_version, deleted);
          continue;
        }
        await acceptCommitted(tx, table, keyJson, row, changed);
        continue;
      }

      if (up.op === 'DELETE') {
        if (live !== null) {
          // Re-created locally after the freeze: keep it, as an UPDATE/INSERT on the new version.
          await setRowState(tx, table, keyJson, row.row_version, deleted);
          await requeueDirty(
            tx,
            table,
            keyJson,
            deleted ? 'INSERT' : 'UPDATE',
            row.row_version,
            live,
          );
        } else {
          await acceptCommitted(tx, table, keyJson, row, changed);
        }
        continue;
      }

      if (live === null) {
        // Deleted locally after the freeze.
        await setRowState(tx, table, keyJson, row.row_version, deleted);
        await requeueDirty(tx, table, keyJson, 'DELETE', row.row_version, null);
        continue;
      }
      const localChanged =
        live !== up.localPayload || (dirty !== undefined && dirty.payload !== up.localPayload);
      if (localChanged) {
        await setRowState(tx, table, keyJson, row.row_version, deleted);
        await requeueDirty(
          tx,
          table,
          keyJson,
          deleted ? 'INSERT' : 'UPDATE',
          row.row_version,
          live,
        );
        continue;
      }
      await acceptCommitted(tx, table, keyJson, row, changed);
    }

    const attachment = await readAttachment(tx);
    if (header.remoteBundleSeq === attachment.lastBundleSeqSeen + 1) {
      // Only a contiguous commit may move the checkpoint; a gap is fetched by the next pull
      // (which skips our own rows by row_version).
      await updateAttachment(tx, { lastBundleSeqSeen: header.remoteBundleSeq });
    }
    await raiseNextSourceBundleId(tx, header.sourceId, header.sourceBundleId + 1);
    await clearOutbox(tx);
  });
  return [...changed].sort();
}

async function acceptCommitted(
  tx: Parameters<Parameters<typeof inApplyMode>[1]>[0],
  table: ManagedTable,
  keyJson: string,
  row: CommittedBundleRowsResponse['rows'][number],
  changed: Set<string>,
): Promise<void> {
  if (row.op === 'DELETE') {
    await deleteAppRow(tx, table, keyJson);
    await setRowState(tx, table, keyJson, row.row_version, true);
  } else {
    if (!row.payload)
      throw clientError('protocol_error', `committed ${row.op} row without payload`);
    await writeWireRow(tx, table, row.payload);
    await setRowState(tx, table, keyJson, row.row_version, false);
  }
  await deleteDirty(tx, table, keyJson);
  changed.add(table.tableName);
}

/**
 * Looks up a managed table named by the server; unknown tables are a protocol error.
 *
 * @example
 * ```ts
 * const table = tableFor(ctx, row.schema, row.table);
 * ```
 */
export function tableFor(ctx: EngineContext, schema: string, tableName: string): ManagedTable {
  const table = schema === ctx.schema.schema ? ctx.schema.byName.get(tableName) : undefined;
  if (!table) {
    throw clientError(
      'protocol_error',
      `server sent a row for unmanaged table ${schema}.${tableName}`,
    );
  }
  return table;
}
