/**
 * Reads the SQLite catalog and the durable `_sync_*` rows in the normalised shapes of the shared
 * oversqlite fixtures (`local-schema/<name>/schema.expected.json`, `runtime-state/schema/v1.json`),
 * so tests can compare whole catalogs with one `toEqual`.
 *
 * @module
 */

import type { SqlExecutor, SqlValue } from '@oversync/client';

/**
 * A JSON-like value as the fixtures hold it.
 *
 * @example
 * ```ts
 * const v: Json = { name: 'users', columns: [] };
 * ```
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function plain(value: SqlValue): Json {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Code-unit order, the order SQLite's BINARY collation gives ASCII names. */
function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

interface MasterRow {
  type: string;
  name: string;
  tableName: string;
  sql: string;
}

async function masterRows(db: SqlExecutor): Promise<MasterRow[]> {
  const rows = await db.all(
    'SELECT type, name, tbl_name, sql FROM main.sqlite_master WHERE sql IS NOT NULL',
  );
  return rows
    .map((r) => ({
      type: String(r.type),
      name: String(r.name),
      tableName: String(r.tbl_name),
      sql: String(r.sql),
    }))
    .sort((a, b) => (a.type === b.type ? byName(a, b) : a.type < b.type ? -1 : 1));
}

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;

async function tableDetail(db: SqlExecutor, name: string): Promise<{ [key: string]: Json }> {
  const columns = (await db.all(`PRAGMA main.table_info(${q(name)})`)).map((c) => ({
    cid: Number(c.cid),
    name: String(c.name),
    type: String(c.type),
    notNull: Number(c.notnull) === 1,
    defaultValue: c.dflt_value === null ? null : String(c.dflt_value),
    primaryKeyPosition: Number(c.pk),
  }));
  const foreignKeys = (await db.all(`PRAGMA main.foreign_key_list(${q(name)})`)).map((f) => ({
    id: Number(f.id),
    seq: Number(f.seq),
    table: String(f.table),
    from: String(f.from),
    to: f.to === null ? null : String(f.to),
    onUpdate: String(f.on_update),
    onDelete: String(f.on_delete),
    match: String(f.match),
  }));
  const indexes: { [key: string]: Json }[] = [];
  for (const i of await db.all(`PRAGMA main.index_list(${q(name)})`)) {
    const indexColumns = (await db.all(`PRAGMA main.index_xinfo(${q(String(i.name))})`)).map(
      (c) => ({
        seqno: Number(c.seqno),
        cid: Number(c.cid),
        name: c.name === null ? null : String(c.name),
        desc: Number(c.desc) === 1,
        collation: String(c.coll),
        key: Number(c.key) === 1,
      }),
    );
    indexes.push({
      seq: Number(i.seq),
      name: String(i.name),
      unique: Number(i.unique) === 1,
      origin: String(i.origin),
      partial: Number(i.partial) === 1,
      columns: indexColumns,
    });
  }
  return { name, columns, foreignKeys, indexes };
}

/**
 * The catalog in the shape of `local-schema/<name>/schema.expected.json` (without
 * `formatVersion`/`fixture`): every `sqlite_master` row with SQL, every table with columns,
 * foreign keys and indexes (PRAGMA order), every view and trigger — sorted by name.
 *
 * @example
 * ```ts
 * expect(await readLocalSchemaCatalog(db)).toEqual(pick(expected, ['catalog', 'tables', 'views', 'triggers']));
 * ```
 */
export async function readLocalSchemaCatalog(db: SqlExecutor): Promise<{ [key: string]: Json }> {
  const master = await masterRows(db);
  const tables: Json[] = [];
  for (const t of master.filter((m) => m.type === 'table'))
    tables.push(await tableDetail(db, t.name));
  return {
    catalog: master,
    tables,
    views: master.filter((m) => m.type === 'view').map((v) => ({ name: v.name, sql: v.sql })),
    triggers: master
      .filter((m) => m.type === 'trigger')
      .map((t) => ({ name: t.name, tableName: t.tableName, sql: t.sql })),
  } as unknown as { [key: string]: Json };
}

/**
 * The runtime catalog in the shape of `runtime-state/schema/v1.json`: `pragmas`, the `_sync_*`
 * tables (columns without `cid`), the non-automatic `_sync_*` indexes, and every trigger.
 *
 * @example
 * ```ts
 * const { pragmas, tables, indexes, triggers } = await readRuntimeCatalog(db);
 * ```
 */
export async function readRuntimeCatalog(db: SqlExecutor): Promise<{ [key: string]: Json }> {
  const master = await masterRows(db);
  const fk = await db.get('PRAGMA foreign_keys');
  const tables: Json[] = [];
  for (const t of master.filter((m) => m.type === 'table' && m.name.startsWith('_sync_'))) {
    const detail = await tableDetail(db, t.name);
    tables.push({
      name: t.name,
      columns: (detail.columns as { [key: string]: Json }[]).map(({ cid: _cid, ...rest }) => rest),
    });
  }
  const indexes: Json[] = [];
  for (const i of master.filter((m) => m.type === 'index' && m.tableName.startsWith('_sync_'))) {
    const info = await db.all(`PRAGMA main.index_info(${q(i.name)})`);
    const list = await db.all(`PRAGMA main.index_list(${q(i.tableName)})`);
    const entry = list.find((l) => String(l.name) === i.name);
    indexes.push({
      name: i.name,
      unique: Number(entry?.unique) === 1,
      table: i.tableName,
      columns: info.map((c) => String(c.name)),
    });
  }
  return {
    pragmas: { foreignKeys: Number(Object.values(fk ?? {})[0]) },
    tables,
    indexes,
    triggers: master
      .filter((m) => m.type === 'trigger')
      .map((t) => ({ name: t.name, table: t.tableName, sql: t.sql })),
  };
}

/** `state` section key → table and row order of `runtime-state` fixtures. */
const STATE_TABLES: readonly (readonly [string, string, string])[] = [
  ['apply_state', '_sync_apply_state', 'singleton_key'],
  ['attachment_state', '_sync_attachment_state', 'singleton_key'],
  ['source_state', '_sync_source_state', 'created_at, source_id'],
  ['operation_state', '_sync_operation_state', 'singleton_key'],
  ['outbox_bundle', '_sync_outbox_bundle', 'singleton_key'],
  ['outbox_rows', '_sync_outbox_rows', 'source_bundle_id, row_ordinal'],
  ['dirty_rows', '_sync_dirty_rows', 'dirty_ordinal, schema_name, table_name, key_json'],
  ['row_state', '_sync_row_state', 'schema_name, table_name, key_json'],
  ['snapshot_stage', '_sync_snapshot_stage', 'snapshot_id, row_ordinal'],
  ['managed_tables', '_sync_managed_tables', 'schema_name, table_name'],
];

/**
 * Every durable `_sync_*` row, keyed like the fixtures' `state` section (all columns).
 *
 * @example
 * ```ts
 * const state = await readRuntimeState(db);
 * state.attachment_state; // [{ singleton_key: 1, current_source_id: '…', … }]
 * ```
 */
export async function readRuntimeState(db: SqlExecutor): Promise<{ [key: string]: Json }> {
  const out: { [key: string]: Json } = {};
  for (const [key, table, order] of STATE_TABLES) {
    const rows = await db.all(`SELECT * FROM ${table} ORDER BY ${order}`);
    out[key] = rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])),
    );
  }
  return out;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NAMED_PLACEHOLDER = /^<([a-z]+)-(\d+)>$/;

/**
 * Replaces the fixtures' placeholders in `expected` with the matching values of `actual`:
 * `<timestamp>` accepts any runtime timestamp; `<source-1>`, `<source-2>` … bind to the actual
 * value at first sight and must then be the same value everywhere (and distinct per number).
 * Throws with the JSON path when a placeholder cannot be matched, so failures say where.
 *
 * @example
 * ```ts
 * expect(actualState).toEqual(resolvePlaceholders(expected.state, actualState));
 * ```
 */
export function resolvePlaceholders(
  expected: Json,
  actual: Json,
  bindings: Map<string, string> = new Map(),
  path = '$',
): Json {
  if (typeof expected === 'string') {
    if (expected === '<timestamp>') {
      if (typeof actual !== 'string' || !ISO_TIMESTAMP.test(actual)) {
        throw new Error(`${path}: expected a runtime timestamp, got ${JSON.stringify(actual)}`);
      }
      return actual;
    }
    if (NAMED_PLACEHOLDER.test(expected)) {
      if (typeof actual !== 'string' || actual === '') {
        throw new Error(
          `${path}: ${expected} needs a non-empty string, got ${JSON.stringify(actual)}`,
        );
      }
      const bound = bindings.get(expected);
      if (bound === undefined) {
        for (const [name, value] of bindings) {
          if (value === actual) throw new Error(`${path}: ${expected} reuses the value of ${name}`);
        }
        bindings.set(expected, actual);
        return actual;
      }
      return bound;
    }
    return expected;
  }
  if (Array.isArray(expected)) {
    const list = Array.isArray(actual) ? actual : [];
    return expected.map((e, i) =>
      resolvePlaceholders(e, list[i] ?? null, bindings, `${path}[${i}]`),
    );
  }
  if (expected !== null && typeof expected === 'object') {
    const obj =
      actual !== null && typeof actual === 'object' && !Array.isArray(actual) ? actual : {};
    return Object.fromEntries(
      Object.entries(expected).map(([k, v]) => [
        k,
        resolvePlaceholders(v, obj[k] ?? null, bindings, `${path}.${k}`),
      ]),
    );
  }
  return expected;
}
