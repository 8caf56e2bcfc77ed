/**
 * The six capture/guard triggers of every managed table, and the SQL expression builders they
 * are made of.
 *
 * The generated SQL is byte-identical to the KMP/Dart runtimes (pinned by the shared fixtures
 * `local-schema/<name>/schema.expected.json` and `runtime-state/schema/v1.json`), so all three
 * runtimes agree on what "unchanged trigger" means and never fight over reinstalls.
 *
 * Guards (`BEFORE …`, suffix `_guard`) abort app writes while a `remote_replace` or
 * `source_recovery` operation is pending, unless the runtime itself is applying (apply_mode = 1).
 * Captures (`AFTER …`) write one coalesced `_sync_dirty_rows` row per key while apply_mode = 0:
 * the first ordinal and original base version are kept, the payload is always the latest row.
 *
 * @module
 */

import type { SqlExecutor } from '../driver/driver.js';
import { normalizeSql, SQL_NOW } from './control-tables.js';
import type { ManagedColumn, ManagedTable } from './local-schema-types.js';
import { columnSqlName, quoteIdent, sqlStringLiteral } from './table-info.js';

/** Trigger name suffixes, in the order they are installed. */
const SUFFIXES = ['bi_guard', 'bu_guard', 'bd_guard', 'ai', 'au', 'ad'] as const;

/** What the trigger builders need to know about a table. */
type TableShape = Pick<ManagedTable, 'schema' | 'tableName' | 'keyColumn' | 'columns'>;
/** What the expression builders need to know about a table. */
type ExpressionTable = Pick<ManagedTable, 'tableName' | 'keyColumn' | 'columns'>;

/** `trg_<table>` stays bare (as KMP writes it) when it is a plain identifier, else it is quoted. */
function triggerIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

/**
 * The names of the six triggers of `tableName`: `trg_<table>_{bi_guard,bu_guard,bd_guard,ai,au,ad}`.
 *
 * @example
 * ```ts
 * triggerNames('users'); // ['trg_users_bi_guard', …, 'trg_users_ad']
 * ```
 */
export function triggerNames(tableName: string): string[] {
  return SUFFIXES.map((s) => `trg_${tableName.toLowerCase()}_${s}`);
}

function columnRef(alias: string, column: ManagedColumn): string {
  return `${alias}.${quoteIdent(columnSqlName(column))}`;
}

function keyColumnOf(table: ExpressionTable): ManagedColumn {
  const column = table.columns.find((c) => c.name === table.keyColumn);
  if (!column) {
    throw new Error(`table ${table.tableName} has no column ${table.keyColumn}`);
  }
  return column;
}

/**
 * SQL expression producing the local `key_json` of the row named by `alias` (`NEW`, `OLD` or a
 * table alias): `json_object('<key>', <value>)`, where a UUID/BLOB key is lower-case hex.
 * The key is NOT NULL (validated), hence no NULL branch.
 *
 * @example
 * ```ts
 * keyJsonExpression(users, 'NEW'); // `json_object('id', NEW."id")`
 * keyJsonExpression(files, 'r'); // `json_object('id', lower(hex(r."id")))`
 * ```
 */
export function keyJsonExpression(table: ExpressionTable, alias: 'NEW' | 'OLD' | string): string {
  const column = keyColumnOf(table);
  const ref = columnRef(alias, column);
  const value =
    column.kind === 'blob' || column.kind === 'uuid_blob'
      ? `lower(hex(${ref}))`
      : column.kind === 'integer'
        ? `CAST(${ref} AS TEXT)`
        : ref;
  return `json_object(${sqlStringLiteral(column.name)}, ${value})`;
}

/**
 * SQL expression producing the local payload JSON of the row named by `alias`: a `json_object`
 * of every column (lower-cased keys, table order). INTEGER → `CAST(… AS TEXT)` (exact int64 as a
 * string), REAL → `printf('%!.17g', …)` (round-trips the binary64), BLOB/UUID → lower-case hex,
 * TEXT → as stored; NULL stays JSON null. Use it to re-serialise live rows exactly as the
 * capture triggers would.
 *
 * @example
 * ```ts
 * const sql = `SELECT ${payloadExpression(users, 'r')} AS payload FROM "users" AS r WHERE r."id" = ?`;
 * ```
 */
export function payloadExpression(
  table: Pick<ManagedTable, 'columns'>,
  alias: 'NEW' | 'OLD' | string,
): string {
  const pairs = table.columns.map((column) => {
    const ref = columnRef(alias, column);
    let value: string;
    switch (column.kind) {
      case 'blob':
      case 'uuid_blob':
        value = `CASE WHEN ${ref} IS NULL THEN NULL ELSE lower(hex(${ref})) END`;
        break;
      case 'integer':
        value = `CASE WHEN ${ref} IS NULL THEN NULL ELSE CAST(${ref} AS TEXT) END`;
        break;
      case 'real':
        value = `CASE WHEN ${ref} IS NULL THEN NULL ELSE printf('%!.17g', ${ref}) END`;
        break;
      case 'text':
        value = ref;
        break;
    }
    return `${sqlStringLiteral(column.name)}, ${value}`;
  });
  return `json_object(${pairs.join(', ')})`;
}

const DIRTY_INSERT_HEAD =
  'INSERT INTO _sync_dirty_rows(schema_name, table_name, key_json, op, base_row_version, payload, dirty_ordinal, updated_at)';
const CONFLICT = 'ON CONFLICT(schema_name, table_name, key_json) DO UPDATE SET';
const CAPTURE_WHEN =
  'WHEN COALESCE((SELECT apply_mode FROM _sync_apply_state WHERE singleton_key = 1), 0) = 0';
const GUARD_WHEN =
  "WHEN EXISTS ( SELECT 1 FROM _sync_operation_state WHERE singleton_key = 1 AND kind != 'none' ) AND NOT EXISTS ( SELECT 1 FROM _sync_apply_state WHERE singleton_key = 1 AND apply_mode = 1 )";

/** The SQL pieces shared by the capture triggers of one table. */
function capturePieces(table: TableShape) {
  const s = sqlStringLiteral(table.schema);
  const t = sqlStringLiteral(table.tableName);
  const scope = `schema_name=${s} AND table_name=${t}`;
  const base = (key: string): string =>
    `COALESCE( (SELECT base_row_version FROM _sync_dirty_rows WHERE ${scope} AND key_json=${key}), (SELECT row_version FROM _sync_row_state WHERE ${scope} AND key_json=${key}), 0 )`;
  const ordinal = (key: string): string =>
    `COALESCE( (SELECT dirty_ordinal FROM _sync_dirty_rows WHERE ${scope} AND key_json=${key}), (SELECT COALESCE(MAX(dirty_ordinal), 0) + 1 FROM _sync_dirty_rows) )`;
  const newKey = keyJsonExpression(table, 'NEW');
  const oldKey = keyJsonExpression(table, 'OLD');
  // Upsert for the NEW row: op is advisory (recomputed at freeze), base and ordinal are kept.
  const upsertNew = `${DIRTY_INSERT_HEAD} VALUES ( ${s}, ${t}, ${newKey}, CASE WHEN EXISTS ( SELECT 1 FROM _sync_row_state WHERE ${scope} AND key_json=${newKey} AND deleted=0 ) THEN 'UPDATE' ELSE 'INSERT' END, ${base(newKey)}, ${payloadExpression(table, 'NEW')}, ${ordinal(newKey)}, ${SQL_NOW} ) ${CONFLICT} op=excluded.op, payload=excluded.payload, updated_at=excluded.updated_at;`;
  const deleteTail = `${CONFLICT} op='DELETE', payload=NULL, updated_at=excluded.updated_at;`;
  const deleteOld = `${DIRTY_INSERT_HEAD} VALUES ( ${s}, ${t}, ${oldKey}, 'DELETE', ${base(oldKey)}, NULL, ${ordinal(oldKey)}, ${SQL_NOW} ) ${deleteTail}`;
  // A key-changing UPDATE first leaves a delete marker for the OLD key.
  const deleteOldIfKeyChanged = `${DIRTY_INSERT_HEAD} SELECT ${s}, ${t}, ${oldKey}, 'DELETE', ${base(oldKey)}, NULL, ${ordinal(oldKey)}, ${SQL_NOW} WHERE ${oldKey} != ${newKey} ${deleteTail}`;
  return { upsertNew, deleteOld, deleteOldIfKeyChanged };
}

/**
 * The six `CREATE TRIGGER` statements of a managed table, in install order.
 *
 * @example
 * ```ts
 * for (const { name, sql } of triggerStatements(users)) console.log(name, sql.length);
 * ```
 */
export function triggerStatements(table: TableShape): { name: string; sql: string }[] {
  const tableName = table.tableName.toLowerCase();
  const on = quoteIdent(tableName);
  const [biGuard, buGuard, bdGuard, ai, au, ad] = triggerNames(tableName).map(triggerIdent) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const guard = (name: string, event: string): string =>
    `CREATE TRIGGER ${name} BEFORE ${event} ON ${on} ${GUARD_WHEN} BEGIN SELECT RAISE(ABORT, 'SYNC_TRANSITION_PENDING'); END`;
  const p = capturePieces(table);
  const capture = (name: string, event: string, body: string): string =>
    `CREATE TRIGGER ${name} AFTER ${event} ON ${on} ${CAPTURE_WHEN} BEGIN ${body} END`;
  const sqls = [
    guard(biGuard, 'INSERT'),
    guard(buGuard, 'UPDATE'),
    guard(bdGuard, 'DELETE'),
    capture(ai, 'INSERT', p.upsertNew),
    capture(au, 'UPDATE', `${p.deleteOldIfKeyChanged} ${p.upsertNew}`),
    capture(ad, 'DELETE', p.deleteOld),
  ];
  return triggerNames(tableName).map((name, i) => ({ name, sql: sqls[i] as string }));
}

/**
 * Installs the six triggers of `table`, idempotently: a trigger whose stored SQL already equals
 * the wanted SQL (whitespace/case-normalised) is left alone; a missing one is created; a changed
 * one (e.g. after a column was added, or one attached to another table) is dropped and recreated.
 * Returns the names of the triggers it (re)created.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   const changed = await installTriggers(tx, users); // [] on an unchanged schema
 * });
 * ```
 */
export async function installTriggers(db: SqlExecutor, table: TableShape): Promise<string[]> {
  const wanted = triggerStatements(table);
  const placeholders = wanted.map(() => '?').join(', ');
  const existing = await db.all<{ name: string; tbl_name: string; sql: string | null }>(
    `SELECT name, tbl_name, sql FROM main.sqlite_master WHERE type = 'trigger' AND name IN (${placeholders})`,
    wanted.map((w) => w.name),
  );
  const byName = new Map(existing.map((r) => [String(r.name), r]));
  const changed: string[] = [];
  for (const { name, sql } of wanted) {
    const current = byName.get(name);
    if (
      current &&
      String(current.tbl_name).toLowerCase() === table.tableName.toLowerCase() &&
      normalizeSql(String(current.sql ?? '')) === normalizeSql(sql)
    ) {
      continue;
    }
    if (current) await db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(name)}`);
    await db.exec(sql);
    changed.push(name);
  }
  return changed;
}

/**
 * Drops the six triggers of `tableName` if they exist (app data is untouched).
 *
 * @example
 * ```ts
 * await dropTriggers(db, 'users');
 * ```
 */
export async function dropTriggers(db: SqlExecutor, tableName: string): Promise<void> {
  for (const name of triggerNames(tableName)) {
    await db.exec(`DROP TRIGGER IF EXISTS ${quoteIdent(name)}`);
  }
}
