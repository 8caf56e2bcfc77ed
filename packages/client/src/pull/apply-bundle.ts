/**
 * Applies one pulled bundle in its own apply-mode transaction; the checkpoint moves in the same
 * transaction, so it only ever advances together with the data.
 *
 * Keys with unpushed local edits are not overwritten: their `_sync_row_state` moves to the
 * server's version (so the next push of that key meets a conflict and the resolver decides with
 * the server row in hand) while the local row and its dirty intent stay. That lets pulls run
 * while the app has unsynced writes, without losing either side.
 *
 * @module
 */

import type { Bundle } from '@oversync/protocol';
import type { SqlExecutor } from '../driver/driver.js';
import type { EngineContext } from '../engine-context.js';
import { clientError } from '../errors.js';
import {
  deleteAppRow,
  readDirty,
  readRowState,
  setRowState,
  writeWireRow,
} from '../local/row-writes.js';
import { inApplyMode, readAttachment, updateAttachment } from '../local/state-store.js';
import { wireKeyToLocalKeyJson } from '../local/value-codec.js';
import { tableFor } from '../push/replay.js';

/**
 * What applying a bundle did.
 *
 * @example
 * ```ts
 * const { applied, rebased, tables } = await applyPulledBundle(ctx, bundle);
 * ```
 */
export interface BundleApplyResult {
  readonly applied: number;
  readonly skipped: number;
  readonly rebased: number;
  readonly tables: readonly string[];
}

/**
 * Applies `bundle` and advances `last_bundle_seq_seen` to at least its `bundle_seq`.
 *
 * @example
 * ```ts
 * for (const bundle of resp.bundles) await applyPulledBundle(ctx, bundle);
 * ```
 */
export async function applyPulledBundle(
  ctx: EngineContext,
  bundle: Bundle,
): Promise<BundleApplyResult> {
  return inApplyMode(ctx.db, async (tx) => {
    const result = await applyRows(tx, ctx, bundle.rows);
    const attachment = await readAttachment(tx);
    if (bundle.bundle_seq > attachment.lastBundleSeqSeen) {
      await updateAttachment(tx, { lastBundleSeqSeen: bundle.bundle_seq });
    }
    return result;
  });
}

/**
 * Applies authoritative rows inside an open apply-mode transaction.
 *
 * @example
 * ```ts
 * const result = await inApplyMode(ctx.db, (tx) => applyRows(tx, ctx, chunk.rows));
 * ```
 */
export async function applyRows(
  tx: SqlExecutor,
  ctx: EngineContext,
  rows: Bundle['rows'],
): Promise<BundleApplyResult> {
  // Keys frozen in an unsent or unreplayed outbox carry local intent just like dirty keys.
  const frozen = new Set<string>();
  for (const r of await tx.all('SELECT table_name, key_json FROM _sync_outbox_rows')) {
    frozen.add(`${String(r.table_name)}\u0000${String(r.key_json)}`);
  }
  const tables = new Set<string>();
  let applied = 0;
  let skipped = 0;
  let rebased = 0;
  for (const row of rows) {
    const table = tableFor(ctx, row.schema, row.table);
    const keyJson = wireKeyToLocalKeyJson(table, row.key);
    const deleted = row.op === 'DELETE';
    if (!deleted && !row.payload) {
      throw clientError('protocol_error', `${row.op} row for ${row.table} without payload`);
    }
    const state = await readRowState(tx, table, keyJson);
    if (state && state.rowVersion >= row.row_version) {
      skipped++; // already applied (e.g. our own pushed row)
      continue;
    }
    if (frozen.has(`${table.tableName}\u0000${keyJson}`) || (await readDirty(tx, table, keyJson))) {
      await setRowState(tx, table, keyJson, row.row_version, deleted);
      rebased++;
      continue;
    }
    if (deleted) {
      await deleteAppRow(tx, table, keyJson);
    } else if (row.payload) {
      await writeWireRow(tx, table, row.payload);
    }
    await setRowState(tx, table, keyJson, row.row_version, deleted);
    tables.add(table.tableName);
    applied++;
  }
  return { applied, skipped, rebased, tables: [...tables] };
}
