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
import type { SqlExecutor, SqlValue } from '../driver/driver.js';
import type { EngineContext } from '../engine-context.js';
import { clientError } from '../errors.js';
import { deleteSql, ROW_STATE_UPSERT_SQL, upsertSql } from '../local/apply-sql.js';
import { localKeyBindValue } from '../local/row-writes.js';
import { inApplyMode, readAttachment, updateAttachment } from '../local/state-store.js';
import { wireKeyToLocalKeyJson, wirePayloadToRow } from '../local/value-codec.js';
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
 * Known row versions for a JSON list of `[table, key_json]` pairs. Params: the list, the schema.
 * `CROSS JOIN` pins the key list as the outer loop so every key is one primary-key probe (left
 * to itself the planner may scan the state table once per key: quadratic on large bundles).
 *
 * @example
 * ```ts
 * await tx.all(ROW_STATE_FOR_KEYS_SQL, [JSON.stringify([['users', '{"id":"u1"}']]), 'main']);
 * ```
 */
export const ROW_STATE_FOR_KEYS_SQL = `SELECT rs.table_name, rs.key_json, rs.row_version FROM json_each(?) AS j
  CROSS JOIN _sync_row_state AS rs ON rs.schema_name = ? AND rs.table_name = json_extract(j.value, '$[0]')
    AND rs.key_json = json_extract(j.value, '$[1]')`;

/**
 * Which of a JSON list of `[table, key_json]` pairs have a dirty row (same shape and plan as
 * {@link ROW_STATE_FOR_KEYS_SQL}).
 *
 * @example
 * ```ts
 * await tx.all(DIRTY_FOR_KEYS_SQL, [JSON.stringify([['users', '{"id":"u1"}']]), 'main']);
 * ```
 */
export const DIRTY_FOR_KEYS_SQL = `SELECT d.table_name, d.key_json FROM json_each(?) AS j
  CROSS JOIN _sync_dirty_rows AS d ON d.schema_name = ? AND d.table_name = json_extract(j.value, '$[0]')
    AND d.key_json = json_extract(j.value, '$[1]')`;

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
  const schema = ctx.schema.schema;
  // Decode every row first: a malformed row fails the bundle before anything is written.
  const decoded = rows.map((row) => {
    const table = tableFor(ctx, row.schema, row.table);
    const deleted = row.op === 'DELETE';
    if (!deleted && !row.payload) {
      throw clientError('protocol_error', `${row.op} row for ${row.table} without payload`);
    }
    return {
      table,
      keyJson: wireKeyToLocalKeyJson(table, row.key),
      deleted,
      version: row.row_version,
      bind: deleted ? null : wirePayloadToRow(table, row.payload),
    };
  });
  const id = (table: string, keyJson: string): string => `${table}\u0000${keyJson}`;

  // One query each for the known versions and the keys with local intent (dirty rows, and rows
  // frozen in an unsent or unreplayed outbox), instead of two lookups per row.
  const keys = JSON.stringify(decoded.map((d) => [d.table.tableName, d.keyJson]));
  const versions = new Map<string, number>();
  for (const r of await tx.all(ROW_STATE_FOR_KEYS_SQL, [keys, schema])) {
    versions.set(id(String(r.table_name), String(r.key_json)), Number(r.row_version));
  }
  const intent = new Set<string>();
  for (const r of await tx.all(DIRTY_FOR_KEYS_SQL, [keys, schema])) {
    intent.add(id(String(r.table_name), String(r.key_json)));
  }
  for (const r of await tx.all('SELECT table_name, key_json FROM _sync_outbox_rows')) {
    intent.add(id(String(r.table_name), String(r.key_json)));
  }

  // App writes keep the bundle's order; consecutive statements of the same shape go in one batch.
  let pendingSql: string | undefined;
  let pendingParams: SqlValue[][] = [];
  const flush = async (): Promise<void> => {
    if (pendingSql !== undefined && pendingParams.length > 0)
      await tx.runBatch(pendingSql, pendingParams);
    pendingSql = undefined;
    pendingParams = [];
  };
  const write = async (sql: string, params: SqlValue[]): Promise<void> => {
    if (sql !== pendingSql) await flush();
    pendingSql = sql;
    pendingParams.push(params);
  };
  const states: SqlValue[][] = [];
  const tables = new Set<string>();
  let applied = 0;
  let skipped = 0;
  let rebased = 0;
  for (const d of decoded) {
    const key = id(d.table.tableName, d.keyJson);
    const known = versions.get(key);
    if (known !== undefined && known >= d.version) {
      skipped++; // already applied (e.g. our own pushed row)
      continue;
    }
    versions.set(key, d.version);
    states.push([schema, d.table.tableName, d.keyJson, d.version, d.deleted ? 1 : 0]);
    if (intent.has(key)) {
      rebased++; // local intent stays; the next push of this key meets the conflict rules
      continue;
    }
    if (d.deleted) await write(deleteSql(d.table), [localKeyBindValue(d.table, d.keyJson)]);
    else await write(upsertSql(d.table), d.bind as SqlValue[]);
    tables.add(d.table.tableName);
    applied++;
  }
  await flush();
  if (states.length > 0) await tx.runBatch(ROW_STATE_UPSERT_SQL, states);
  return { applied, skipped, rebased, tables: [...tables] };
}
