/**
 * Fixtures `local-schema/<name>/`: `schema.sql` + `config.json` → open (initialize + bind) →
 * the whole catalog (every table, column, FK, index, view and trigger, trigger SQL byte for byte)
 * equals `schema.expected.json`; every `write-transitions.json` case, on a fresh database, yields
 * the dirty rows and app row counts of `write-transitions.expected.json`.
 *
 * Plus non-fixture checks of idempotent reinstall, trigger refresh after a migration, and
 * uninstall.
 */

import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import {
  contractsAvailable,
  contractsDir,
  FIXTURES_ABSENT,
  loadContract,
} from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../src/driver/driver.js';
import type { LocalRuntimeConfig } from '../src/local/config-validation.js';
import { initializeLocalRuntime, uninstallLocalRuntime } from '../src/local/initialize.js';
import type { LocalSchema } from '../src/local/local-schema-types.js';
import { bindLocalSource } from '../src/local/source-binding.js';
import { installTriggers } from '../src/local/triggers.js';
import { readLocalSchemaCatalog } from './support/catalog.js';

interface FixtureConfig {
  schema: string;
  syncTables: { tableName: string; syncKeyColumnName?: string; syncKeyColumns?: string[] }[];
}

interface TransitionCase {
  name: string;
  setupSql: string[];
  actionSql: string[];
}

interface ExpectedDirtyRow {
  schemaName: string;
  tableName: string;
  keyJson: string;
  op: string;
  baseRowVersion: number;
  payload: string | null;
  dirtyOrdinal: number;
}

function toConfig(c: FixtureConfig): LocalRuntimeConfig {
  return { schema: c.schema, tables: c.syncTables };
}

async function withDb<T>(fn: (db: SqliteDriver) => Promise<T>): Promise<T> {
  const db = createBetterSqlite3Driver({ filename: ':memory:' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function open(db: SqliteDriver, schemaSql: string, config: LocalRuntimeConfig) {
  await db.exec(schemaSql);
  const schema = await initializeLocalRuntime(db, config);
  await bindLocalSource(db, schema, randomUUID);
  return schema;
}

async function dirtyRows(db: SqliteDriver): Promise<ExpectedDirtyRow[]> {
  const rows = await db.all(
    'SELECT schema_name, table_name, key_json, op, base_row_version, payload, dirty_ordinal FROM _sync_dirty_rows ORDER BY dirty_ordinal',
  );
  return rows.map((r) => ({
    schemaName: String(r.schema_name),
    tableName: String(r.table_name),
    keyJson: String(r.key_json),
    op: String(r.op),
    baseRowVersion: Number(r.base_row_version),
    payload: r.payload === null ? null : String(r.payload),
    dirtyOrdinal: Number(r.dirty_ordinal),
  }));
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'local-schema fixtures' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixtureNames = readdirSync(join(contractsDir(), 'local-schema'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

  it('finds the local-schema fixture directories', () => {
    expect(fixtureNames.length).toBeGreaterThan(0);
  });

  for (const fixture of fixtureNames) {
    describe(fixture, () => {
      const base = `local-schema/${fixture}`;
      const schemaSql = readFileSync(join(contractsDir(), base, 'schema.sql'), 'utf8');
      const config = toConfig(loadContract(`${base}/config.json`) as FixtureConfig);
      const expectedSchema = loadContract(`${base}/schema.expected.json`);
      const transitions = loadContract(`${base}/write-transitions.json`) as {
        applicationTables: string[];
        cases: TransitionCase[];
      };
      const expectedTransitions = loadContract(`${base}/write-transitions.expected.json`) as {
        cases: {
          name: string;
          dirtyRows: ExpectedDirtyRow[];
          applicationRowCounts: Record<string, number>;
        }[];
      };

      it('schema.expected.json: catalog after open', async () => {
        await withDb(async (db) => {
          await open(db, schemaSql, config);
          const actual = await readLocalSchemaCatalog(db);
          const { catalog, tables, views, triggers } = expectedSchema;
          expect(actual).toEqual({ catalog, tables, views, triggers });
        });
      });

      for (const c of transitions.cases) {
        it(`write-transitions: ${c.name}`, async () => {
          const expected = expectedTransitions.cases.find((e) => e.name === c.name);
          expect(expected, `expected output for ${c.name}`).toBeDefined();
          await withDb(async (db) => {
            await open(db, schemaSql, config);
            for (const sql of [...c.setupSql, ...c.actionSql]) await db.exec(sql);
            expect(await dirtyRows(db)).toEqual(expected?.dirtyRows);
            const counts: Record<string, number> = {};
            for (const table of transitions.applicationTables) {
              const row = await db.get(`SELECT COUNT(*) AS n FROM "${table}"`);
              counts[table] = Number(row?.n);
            }
            expect(counts).toEqual(expected?.applicationRowCounts);
          });
        });
      }
    });
  }
});

const USERS_SQL = 'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)';
const USERS_CONFIG: LocalRuntimeConfig = {
  schema: 'main',
  tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
};

async function triggerSql(db: SqliteDriver): Promise<Record<string, string>> {
  const rows = await db.all(
    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name",
  );
  return Object.fromEntries(rows.map((r) => [String(r.name), String(r.sql)]));
}

describe('local runtime install', () => {
  it('is idempotent: a second initialize changes nothing', async () => {
    await withDb(async (db) => {
      const schema = await open(db, USERS_SQL, USERS_CONFIG);
      const before = await readLocalSchemaCatalog(db);
      await initializeLocalRuntime(db, USERS_CONFIG);
      expect(await readLocalSchemaCatalog(db)).toEqual(before);
      const changed = await db.transaction((tx) =>
        installTriggers(tx, schema.tables[0] as LocalSchema['tables'][number]),
      );
      expect(changed).toEqual([]);
    });
  });

  it('reinstalls changed triggers after a column is added', async () => {
    await withDb(async (db) => {
      await open(db, USERS_SQL, USERS_CONFIG);
      const before = await triggerSql(db);
      await db.exec('ALTER TABLE users ADD COLUMN email TEXT');
      await initializeLocalRuntime(db, USERS_CONFIG);
      const after = await triggerSql(db);
      expect(after.trg_users_bi_guard).toBe(before.trg_users_bi_guard);
      expect(after.trg_users_ai).not.toBe(before.trg_users_ai);
      expect(after.trg_users_ai).toContain(`'email', NEW."email"`);
      await db.run("INSERT INTO users(id, name, email) VALUES ('u', 'n', 'e@x')");
      const row = await db.get('SELECT payload FROM _sync_dirty_rows');
      expect(row?.payload).toBe('{"id":"u","name":"n","email":"e@x"}');
    });
  });

  it('quotes the declared column spelling and lower-cases payload keys', async () => {
    await withDb(async (db) => {
      await open(db, 'CREATE TABLE Notes (Id TEXT PRIMARY KEY NOT NULL, Body TEXT)', {
        schema: 'main',
        tables: [{ tableName: 'Notes', syncKeyColumnName: 'ID' }],
      });
      const sql = await triggerSql(db);
      expect(sql.trg_notes_ai).toContain(`json_object('id', NEW."Id", 'body', NEW."Body")`);
      await db.run("INSERT INTO notes(id, body) VALUES ('n1', 'x')");
      const row = await db.get('SELECT table_name, key_json, payload FROM _sync_dirty_rows');
      expect(row).toEqual({
        table_name: 'notes',
        key_json: '{"id":"n1"}',
        payload: '{"id":"n1","body":"x"}',
      });
    });
  });

  it('blocks app writes while an operation is pending, except in apply mode', async () => {
    await withDb(async (db) => {
      await open(db, USERS_SQL, USERS_CONFIG);
      await db.run(
        "UPDATE _sync_operation_state SET kind = 'remote_replace' WHERE singleton_key = 1",
      );
      await expect(db.run("INSERT INTO users(id, name) VALUES ('u', 'n')")).rejects.toThrow(
        'SYNC_TRANSITION_PENDING',
      );
      await db.run('UPDATE _sync_apply_state SET apply_mode = 1 WHERE singleton_key = 1');
      await db.run("INSERT INTO users(id, name) VALUES ('u', 'n')");
      expect((await db.get('SELECT COUNT(*) AS n FROM _sync_dirty_rows'))?.n).toBe(0);
    });
  });

  it('uninstall drops triggers of config and registry tables and runtime tables, keeps app data', async () => {
    await withDb(async (db) => {
      await db.exec(
        "CREATE TABLE posts (id TEXT PRIMARY KEY NOT NULL); CREATE TABLE _sync_audit_log (id INTEGER PRIMARY KEY, m TEXT); INSERT INTO _sync_audit_log VALUES (1, 'keep')",
      );
      await open(db, USERS_SQL, {
        schema: 'main',
        tables: [
          { tableName: 'users', syncKeyColumnName: 'id' },
          { tableName: 'posts', syncKeyColumnName: 'id' },
        ],
      });
      await db.run("INSERT INTO users(id, name) VALUES ('u', 'n')");
      // posts was dropped from the configuration but is still in the registry.
      await uninstallLocalRuntime(db, { tables: [{ tableName: 'users' }] });
      const left = await db.all(
        'SELECT type, name FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name',
      );
      expect(left.map((r) => `${r.type}:${r.name}`)).toEqual([
        'table:_sync_audit_log',
        'table:posts',
        'table:users',
      ]);
      expect((await db.get('SELECT COUNT(*) AS n FROM users'))?.n).toBe(1);
      // Uninstalling twice is harmless.
      await uninstallLocalRuntime(db, { tables: [{ tableName: 'users' }] });
    });
  });

  it('refuses a foreign _sync_* metadata layout before touching it', async () => {
    await withDb(async (db) => {
      await db.exec(
        'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL); CREATE TABLE _sync_apply_state (singleton_key INTEGER PRIMARY KEY, apply_mode INTEGER)',
      );
      await expect(initializeLocalRuntime(db, USERS_CONFIG)).rejects.toMatchObject({
        code: 'configuration',
        message: expect.stringContaining('_sync_apply_state'),
      });
      const names = await db.all(
        "SELECT name FROM sqlite_master WHERE substr(name, 1, 6) = '_sync_'",
      );
      expect(names.map((r) => r.name)).toEqual(['_sync_apply_state']);
    });
  });
});
