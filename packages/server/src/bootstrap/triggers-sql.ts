import { quoteIdent } from '../util/sql.js';
import { keySql, payloadSql } from './payload-sql.js';
import type { TableInfo } from './table-info.js';

/** Names of the triggers installed on every registered table. */
export const TRIGGER_NAMES = [
  'oversync_guard',
  'oversync_capture_insert',
  'oversync_capture_update',
  'oversync_capture_delete',
  'oversync_no_truncate',
] as const;

function fn(t: TableInfo, what: string): string {
  return `sync.${quoteIdent(`capture_${what}_${t.tableId}`)}`;
}

/**
 * The per-table capture functions. Statement-level AFTER triggers with transition
 * tables: one INSERT … SELECT per statement instead of one per row, and direct column
 * access instead of `to_jsonb(NEW)`. An UPDATE that changes the key is recorded as
 * DELETE(old key) + INSERT(new key).
 */
export function captureFunctionsSql(t: TableInfo): string {
  const key = quoteIdent(t.keyColumn);
  const body = (sql: string) => `LANGUAGE plpgsql AS $fn$\nBEGIN\n${sql}\nRETURN NULL;\nEND\n$fn$;`;
  return `
CREATE OR REPLACE FUNCTION ${fn(t, 'insert')}() RETURNS trigger ${body(`
  INSERT INTO sync.capture (txid, table_id, op, key, payload)
  SELECT pg_current_xact_id(), ${t.tableId}, 1, ${keySql(t, 'n')}, ${payloadSql(t, 'n')} FROM oversync_new AS n;`)}
CREATE OR REPLACE FUNCTION ${fn(t, 'delete')}() RETURNS trigger ${body(`
  INSERT INTO sync.capture (txid, table_id, op, key, payload)
  SELECT pg_current_xact_id(), ${t.tableId}, 3, ${keySql(t, 'o')}, NULL FROM oversync_old AS o;`)}
CREATE OR REPLACE FUNCTION ${fn(t, 'update')}() RETURNS trigger ${body(`
  INSERT INTO sync.capture (txid, table_id, op, key, payload)
  SELECT pg_current_xact_id(), ${t.tableId}, 3, ${keySql(t, 'o')}, NULL FROM oversync_old AS o
   WHERE NOT EXISTS (SELECT 1 FROM oversync_new AS n WHERE n.${key} = o.${key});
  INSERT INTO sync.capture (txid, table_id, op, key, payload)
  SELECT pg_current_xact_id(), ${t.tableId},
         CASE WHEN EXISTS (SELECT 1 FROM oversync_old AS o WHERE o.${key} = n.${key}) THEN 2 ELSE 1 END,
         ${keySql(t, 'n')}, ${payloadSql(t, 'n')} FROM oversync_new AS n;`)}
`;
}

/** CREATE TRIGGER statements for the triggers that are missing on a table. */
export function createTriggersSql(t: TableInfo, existing: ReadonlySet<string>): string {
  const target = `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  const out: string[] = [];
  const add = (name: string, sql: string) => {
    if (!existing.has(name)) out.push(sql);
  };
  add(
    'oversync_guard',
    `CREATE TRIGGER oversync_guard BEFORE INSERT OR UPDATE OR DELETE ON ${target} FOR EACH ROW EXECUTE FUNCTION sync.guard_registered_row();`,
  );
  add(
    'oversync_capture_insert',
    `CREATE TRIGGER oversync_capture_insert AFTER INSERT ON ${target} REFERENCING NEW TABLE AS oversync_new FOR EACH STATEMENT EXECUTE FUNCTION ${fn(t, 'insert')}();`,
  );
  add(
    'oversync_capture_update',
    `CREATE TRIGGER oversync_capture_update AFTER UPDATE ON ${target} REFERENCING OLD TABLE AS oversync_old NEW TABLE AS oversync_new FOR EACH STATEMENT EXECUTE FUNCTION ${fn(t, 'update')}();`,
  );
  add(
    'oversync_capture_delete',
    `CREATE TRIGGER oversync_capture_delete AFTER DELETE ON ${target} REFERENCING OLD TABLE AS oversync_old FOR EACH STATEMENT EXECUTE FUNCTION ${fn(t, 'delete')}();`,
  );
  add(
    'oversync_no_truncate',
    `CREATE TRIGGER oversync_no_truncate BEFORE TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION sync.forbid_truncate();`,
  );
  return out.join('\n');
}

/** DROP TRIGGER statements for a table that is no longer registered. */
export function dropTriggersSql(schema: string, table: string): string {
  const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  return TRIGGER_NAMES.map((n) => `DROP TRIGGER IF EXISTS ${n} ON ${target};`).join('\n');
}
