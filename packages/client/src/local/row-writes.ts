/**
 * Row-level reads and writes shared by replay, conflict resolution and pull: authoritative app
 * row writes, `_sync_row_state` and `_sync_dirty_rows` maintenance. Callers run them inside an
 * apply-mode transaction.
 *
 * @module
 */

import type { SqlExecutor, SqlValue } from '../driver/driver.js';
import {
  DIRTY_ROW_DELETE_SQL,
  deleteSql,
  ROW_STATE_DELETE_SQL,
  ROW_STATE_UPSERT_SQL,
  selectLocalPayloadSql,
  upsertSql,
} from './apply-sql.js';
import type { ManagedTable } from './local-schema-types.js';
import { localKeyJsonToBindValue, wirePayloadToRow } from './value-codec.js';

/**
 * The SQLite value of a row's key, from its local `key_json` (blob keys are hex there).
 *
 * @example
 * ```ts
 * await tx.run('DELETE FROM todos WHERE id = ?', [localKeyBindValue(table, keyJson)]);
 * ```
 */
export function localKeyBindValue(table: ManagedTable, keyJson: string): SqlValue {
  return localKeyJsonToBindValue(table, keyJson);
}

/**
 * Upserts a row given in wire form (server spelling).
 *
 * @example
 * ```ts
 * await writeWireRow(tx, table, { id: 'todo-1', title: 'milk' });
 * ```
 */
export async function writeWireRow(
  tx: SqlExecutor,
  table: ManagedTable,
  payload: Readonly<Record<string, unknown>>,
): Promise<void> {
  await tx.run(upsertSql(table), wirePayloadToRow(table, payload));
}

/**
 * Deletes the app row with the given local key.
 *
 * @example
 * ```ts
 * await deleteAppRow(tx, table, '{"id":"todo-1"}');
 * ```
 */
export async function deleteAppRow(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<void> {
  await tx.run(deleteSql(table), [localKeyBindValue(table, keyJson)]);
}

/**
 * The live app row in local JSON form (what a capture trigger writes), or null when absent.
 *
 * @example
 * ```ts
 * const live = await readLivePayload(tx, table, keyJson);
 * if (live === null) console.log('row was deleted locally');
 * ```
 */
export async function readLivePayload(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<string | null> {
  const row = await tx.get(selectLocalPayloadSql(table), [localKeyBindValue(table, keyJson)]);
  return row ? String(row.payload) : null;
}

/**
 * Upserts `_sync_row_state`.
 *
 * @example
 * ```ts
 * await setRowState(tx, table, keyJson, row.row_version, row.op === 'DELETE');
 * ```
 */
export async function setRowState(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
  rowVersion: number,
  deleted: boolean,
): Promise<void> {
  await tx.run(ROW_STATE_UPSERT_SQL, [
    table.schema,
    table.tableName,
    keyJson,
    rowVersion,
    deleted ? 1 : 0,
  ]);
}

/**
 * Deletes `_sync_row_state` for a key.
 *
 * @example
 * ```ts
 * await deleteRowState(tx, table, keyJson);
 * ```
 */
export async function deleteRowState(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<void> {
  await tx.run(ROW_STATE_DELETE_SQL, [table.schema, table.tableName, keyJson]);
}

/**
 * Reads `_sync_row_state` for a key.
 *
 * @example
 * ```ts
 * const state = await readRowState(tx, table, keyJson);
 * const baseRowVersion = state?.rowVersion ?? 0;
 * ```
 */
export async function readRowState(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<{ rowVersion: number; deleted: boolean } | undefined> {
  const r = await tx.get(
    'SELECT row_version, deleted FROM _sync_row_state WHERE schema_name = ? AND table_name = ? AND key_json = ?',
    [table.schema, table.tableName, keyJson],
  );
  return r ? { rowVersion: Number(r.row_version), deleted: Number(r.deleted) !== 0 } : undefined;
}

/**
 * Reads the dirty row of a key.
 *
 * @example
 * ```ts
 * const dirty = await readDirty(tx, table, keyJson);
 * if (dirty) console.log(dirty.op, dirty.baseRowVersion);
 * ```
 */
export async function readDirty(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<{ op: string; baseRowVersion: number; payload: string | null } | undefined> {
  const r = await tx.get(
    'SELECT op, base_row_version, payload FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?',
    [table.schema, table.tableName, keyJson],
  );
  return r
    ? {
        op: String(r.op),
        baseRowVersion: Number(r.base_row_version),
        payload: r.payload === null ? null : String(r.payload),
      }
    : undefined;
}

/**
 * Deletes the dirty row of a key.
 *
 * @example
 * ```ts
 * await deleteDirty(tx, table, keyJson);
 * ```
 */
export async function deleteDirty(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
): Promise<void> {
  await tx.run(DIRTY_ROW_DELETE_SQL, [table.schema, table.tableName, keyJson]);
}

/**
 * Puts local intent back into `_sync_dirty_rows`. A key that is already dirty keeps its ordinal
 * and gets the given op/base/payload; a new key gets the next ordinal.
 *
 * @example
 * ```ts
 * await requeueDirty(tx, table, row.keyJson, row.op, row.baseRowVersion, row.localPayload);
 * ```
 */
export async function requeueDirty(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
  op: 'INSERT' | 'UPDATE' | 'DELETE',
  baseRowVersion: number,
  payload: string | null,
): Promise<void> {
  await tx.run(
    `INSERT INTO _sync_dirty_rows(schema_name, table_name, key_json, op, base_row_version, payload, dirty_ordinal, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(dirty_ordinal), 0) + 1 FROM _sync_dirty_rows), strftime('%Y-%m-%dT%H:%M:%fZ','now'))
     ON CONFLICT(schema_name, table_name, key_json) DO UPDATE SET op = excluded.op,
       base_row_version = excluded.base_row_version, payload = excluded.payload, updated_at = excluded.updated_at`,
    [table.schema, table.tableName, keyJson, op, baseRowVersion, payload],
  );
}

/**
 * Re-serialises the live row (or its absence) as dirty intent with a new base version.
 *
 * @example
 * ```ts
 * await requeueFromLive(tx, table, keyJson, serverRowVersion, serverRowIsLive);
 * ```
 */
export async function requeueFromLive(
  tx: SqlExecutor,
  table: ManagedTable,
  keyJson: string,
  baseRowVersion: number,
  serverLive: boolean,
): Promise<void> {
  const live = await readLivePayload(tx, table, keyJson);
  if (live === null) {
    await requeueDirty(tx, table, keyJson, 'DELETE', baseRowVersion, null);
  } else {
    await requeueDirty(tx, table, keyJson, serverLive ? 'UPDATE' : 'INSERT', baseRowVersion, live);
  }
}
