/**
 * Prepared SQL text for authoritative apply (pull, committed replay, snapshot, conflicts): app
 * row upserts/deletes plus `_sync_row_state` and `_sync_dirty_rows` maintenance. Statements are
 * built once per table object and cached, so drivers can reuse their prepared statements.
 *
 * @module
 */

import { SQL_NOW } from './control-tables.js';
import type { ManagedTable } from './local-schema-types.js';
import { columnSqlName, quoteIdent } from './table-info.js';
import { payloadExpression } from './triggers.js';

/** What the builders need to know about a table. */
type SqlTable = Pick<ManagedTable, 'tableName' | 'keyColumn' | 'columns'>;

const upsertCache = new WeakMap<object, string>();
const deleteCache = new WeakMap<object, string>();
const selectCache = new WeakMap<object, string>();

function cached(cache: WeakMap<object, string>, table: SqlTable, build: () => string): string {
  let sql = cache.get(table);
  if (sql === undefined) {
    sql = build();
    cache.set(table, sql);
  }
  return sql;
}

function keyIdent(table: SqlTable): string {
  const key = table.columns.find((c) => c.name === table.keyColumn);
  if (!key) throw new Error(`table ${table.tableName} has no column ${table.keyColumn}`);
  return quoteIdent(columnSqlName(key));
}

/**
 * `INSERT … ON CONFLICT(<key>) DO UPDATE SET <every non-key column>` for one table; bind the
 * values of `wirePayloadToRow` (all columns, table order).
 *
 * Never `INSERT OR REPLACE`: REPLACE deletes the old row first, which fires `ON DELETE CASCADE`
 * on child tables and would wipe children the server still has. The upsert updates in place.
 *
 * @example
 * ```ts
 * upsertSql(users);
 * // 'INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT("id") DO UPDATE SET "name" = excluded."name"'
 * await tx.run(upsertSql(users), wirePayloadToRow(users, payload));
 * ```
 */
export function upsertSql(table: SqlTable): string {
  return cached(upsertCache, table, () => {
    const names = table.columns.map((c) => quoteIdent(columnSqlName(c)));
    const key = keyIdent(table);
    const updates = table.columns
      .filter((c) => c.name !== table.keyColumn)
      .map((c) => {
        const q = quoteIdent(columnSqlName(c));
        return `${q} = excluded.${q}`;
      });
    const onConflict = updates.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${updates.join(', ')}`;
    return `INSERT INTO ${quoteIdent(table.tableName)} (${names.join(', ')}) VALUES (${names
      .map(() => '?')
      .join(', ')}) ON CONFLICT(${key}) ${onConflict}`;
  });
}

/**
 * `DELETE FROM <table> WHERE <key> = ?`; bind the key's SQLite value (text, or 16 bytes).
 *
 * @example
 * ```ts
 * await tx.run(deleteSql(users), ['u-1']);
 * ```
 */
export function deleteSql(table: SqlTable): string {
  return cached(
    deleteCache,
    table,
    () => `DELETE FROM ${quoteIdent(table.tableName)} WHERE ${keyIdent(table)} = ?`,
  );
}

/**
 * `SELECT <local payload json> AS payload FROM <table> WHERE <key> = ?`: the live row in the
 * exact local JSON a capture trigger would write, or no row.
 *
 * @example
 * ```ts
 * const row = await tx.get<{ payload: string }>(selectLocalPayloadSql(users), ['u-1']);
 * ```
 */
export function selectLocalPayloadSql(table: SqlTable): string {
  return cached(selectCache, table, () => {
    const alias = 'live_row';
    return `SELECT ${payloadExpression(table, alias)} AS payload FROM ${quoteIdent(table.tableName)} AS ${alias} WHERE ${alias}.${keyIdent(table)} = ?`;
  });
}

/**
 * Upserts `_sync_row_state`. Params: `schema_name, table_name, key_json, row_version, deleted`
 * (bind `row_version` as `bigint` or a canonical decimal string to keep int64 exact).
 *
 * @example
 * ```ts
 * await tx.run(ROW_STATE_UPSERT_SQL, ['main', 'users', '{"id":"u-1"}', 7n, 0]);
 * ```
 */
export const ROW_STATE_UPSERT_SQL = `INSERT INTO _sync_row_state(schema_name, table_name, key_json, row_version, deleted, updated_at) VALUES (?, ?, ?, ?, ?, ${SQL_NOW}) ON CONFLICT(schema_name, table_name, key_json) DO UPDATE SET row_version = excluded.row_version, deleted = excluded.deleted, updated_at = excluded.updated_at`;

/**
 * Deletes one `_sync_row_state` row. Params: `schema_name, table_name, key_json`.
 *
 * @example
 * ```ts
 * await tx.run(ROW_STATE_DELETE_SQL, ['main', 'users', '{"id":"u-1"}']);
 * ```
 */
export const ROW_STATE_DELETE_SQL =
  'DELETE FROM _sync_row_state WHERE schema_name = ? AND table_name = ? AND key_json = ?';

/**
 * Deletes one `_sync_dirty_rows` row. Params: `schema_name, table_name, key_json`.
 *
 * @example
 * ```ts
 * await tx.run(DIRTY_ROW_DELETE_SQL, ['main', 'users', '{"id":"u-1"}']);
 * ```
 */
export const DIRTY_ROW_DELETE_SQL =
  'DELETE FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?';

/**
 * Turns capture off for the current transaction's writes (authoritative apply). Pair it with
 * {@link APPLY_MODE_OFF_SQL} before COMMIT, also on the error path.
 *
 * @example
 * ```ts
 * await tx.run(APPLY_MODE_ON_SQL);
 * ```
 */
export const APPLY_MODE_ON_SQL =
  'UPDATE _sync_apply_state SET apply_mode = 1 WHERE singleton_key = 1';

/**
 * Turns capture back on.
 *
 * @example
 * ```ts
 * await tx.run(APPLY_MODE_OFF_SQL);
 * ```
 */
export const APPLY_MODE_OFF_SQL =
  'UPDATE _sync_apply_state SET apply_mode = 0 WHERE singleton_key = 1';
