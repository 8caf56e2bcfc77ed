/**
 * Fixture `local-schema/config-validation.json`: each case runs its schema SQL, optionally opens
 * and mutates a previously valid database, then opens with the case's config and checks the
 * error category and message fragments (or success), then the case's expected queries — which
 * also prove "no `_sync_*` residue" and "runtime state preserved" on rejection.
 *
 * Plus non-fixture checks of the parents-first table order and of the other rejections.
 */

import { randomUUID } from 'node:crypto';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../src/driver/driver.js';
import { isOversyncClientError } from '../src/errors.js';
import {
  computeTableOrder,
  type LocalRuntimeConfig,
  validateLocalConfig,
} from '../src/local/config-validation.js';
import { initializeLocalRuntime } from '../src/local/initialize.js';
import { bindLocalSource } from '../src/local/source-binding.js';

interface ValidationCase {
  name: string;
  schemaSql: string[];
  config: {
    schema: string;
    syncTables: { tableName: string; syncKeyColumnName?: string; syncKeyColumns?: string[] }[];
  };
  initializeBeforeValidation?: boolean;
  beforeValidationSql?: string[];
  afterOpenSql?: string[];
  expectedError: { kind: string; messageContains: string[] } | null;
  expectedQueries?: { name: string; sql: string; value: unknown }[];
}

function toConfig(c: ValidationCase['config']): LocalRuntimeConfig {
  return { schema: c.schema, tables: c.syncTables };
}

/** The whole open sequence the client runs: install, then bind the source. */
async function openRuntime(db: SqliteDriver, config: LocalRuntimeConfig): Promise<void> {
  const schema = await initializeLocalRuntime(db, config);
  await bindLocalSource(db, schema, randomUUID);
}

async function withDb(fn: (db: SqliteDriver) => Promise<void>): Promise<void> {
  const db = createBetterSqlite3Driver({ filename: ':memory:' });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function openError(db: SqliteDriver, config: LocalRuntimeConfig): Promise<unknown> {
  try {
    await openRuntime(db, config);
    return undefined;
  } catch (error) {
    return error;
  }
}

const available = contractsAvailable();

describe.skipIf(!available)(
  available ? 'local-schema/config-validation.json' : FIXTURES_ABSENT,
  () => {
    if (!available) {
      it('needs ../shared/contracts/oversqlite', () => {});
      return;
    }
    const fixture = loadContract('local-schema/config-validation.json') as {
      cases: ValidationCase[];
    };

    for (const c of fixture.cases) {
      it(c.name, async () => {
        await withDb(async (db) => {
          for (const sql of c.schemaSql) await db.exec(sql);
          if (c.initializeBeforeValidation) {
            // The database was valid when it was first opened; the drift comes afterwards.
            await openRuntime(db, toConfig(c.config));
          }
          for (const sql of c.beforeValidationSql ?? []) await db.exec(sql);

          const error = await openError(db, toConfig(c.config));
          if (c.expectedError === null) {
            expect(error).toBeUndefined();
            for (const sql of c.afterOpenSql ?? []) await db.exec(sql);
          } else {
            expect(isOversyncClientError(error), String(error)).toBe(true);
            if (!isOversyncClientError(error)) return;
            expect(error.category).toBe(c.expectedError.kind);
            for (const fragment of c.expectedError.messageContains) {
              expect(error.message).toContain(fragment);
            }
          }

          for (const q of c.expectedQueries ?? []) {
            const row = await db.get(q.sql);
            const value = row === undefined ? undefined : Object.values(row)[0];
            expect(value, q.name).toEqual(q.value);
          }
        });
      });
    }
  },
);

describe('table order', () => {
  it('puts parents first, ties by configuration order', () => {
    const parents = new Map([
      ['posts', ['users']],
      ['comments', ['posts', 'users']],
      ['users', []],
      ['tags', []],
    ]);
    expect(computeTableOrder(['comments', 'posts', 'tags', 'users'], parents)).toEqual([
      'tags',
      'users',
      'posts',
      'comments',
    ]);
  });

  it('appends cycles (and their descendants) in configuration order, ignores self references', () => {
    const parents = new Map([
      ['teams', ['team_members']],
      ['team_members', ['teams']],
      ['categories', ['categories']],
      ['badges', ['team_members']],
    ]);
    expect(computeTableOrder(['badges', 'teams', 'team_members', 'categories'], parents)).toEqual([
      'categories',
      'badges',
      'teams',
      'team_members',
    ]);
  });

  it('orders the validated schema and keeps FK metadata', async () => {
    await withDb(async (db) => {
      await db.exec(`
        CREATE TABLE posts (id TEXT PRIMARY KEY NOT NULL, author BLOB REFERENCES users);
        CREATE TABLE users (id BLOB PRIMARY KEY NOT NULL, Name TEXT, score REAL, n BIGINT, data BLOB);
      `);
      const schema = await validateLocalConfig(db, {
        schema: ' main ',
        tables: [
          { tableName: 'Posts', syncKeyColumnName: 'id' },
          { tableName: 'USERS', syncKeyColumnName: 'ID' },
        ],
      });
      expect(schema.schema).toBe('main');
      expect(schema.tables.map((t) => [t.tableName, t.order])).toEqual([
        ['users', 0],
        ['posts', 1],
      ]);
      const users = schema.byName.get('users');
      expect(users?.keyKind).toBe('uuid_blob');
      expect(users?.columns.map((col) => [col.name, col.kind])).toEqual([
        ['id', 'uuid_blob'],
        ['name', 'text'],
        ['score', 'real'],
        ['n', 'integer'],
        ['data', 'blob'],
      ]);
      expect(schema.byName.get('posts')?.foreignKeys).toEqual([
        { column: 'author', referencedTable: 'users', referencedColumn: 'id' },
      ]);
      expect(schema.byName.get('posts')?.columns[1]?.kind).toBe('uuid_blob');
    });
  });
});

describe('other configuration rejections', () => {
  const cases: [string, string, LocalRuntimeConfig, string][] = [
    [
      'blank schema',
      'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL)',
      { schema: ' ', tables: [] },
      'config.schema must be provided',
    ],
    [
      'duplicate registration',
      'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL)',
      {
        schema: 'main',
        tables: [
          { tableName: 'users', syncKeyColumnName: 'id' },
          { tableName: 'Users', syncKeyColumnName: 'id' },
        ],
      },
      'duplicate sync table registration for Users',
    ],
    [
      'missing table',
      'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL)',
      { schema: 'main', tables: [{ tableName: 'nope', syncKeyColumnName: 'id' }] },
      'sync table nope does not exist',
    ],
    [
      'composite primary key with a single configured column',
      'CREATE TABLE pairs (a TEXT NOT NULL, b TEXT NOT NULL, PRIMARY KEY (a, b))',
      { schema: 'main', tables: [{ tableName: 'pairs', syncKeyColumnName: 'a' }] },
      'must declare exactly one local SQLite PRIMARY KEY column',
    ],
    [
      'key column that is not the primary key',
      'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, email TEXT NOT NULL)',
      { schema: 'main', tables: [{ tableName: 'users', syncKeyColumnName: 'email' }] },
      'configured primary key column email for table users is not declared as PRIMARY KEY',
    ],
    [
      'runtime table',
      'SELECT 1',
      {
        schema: 'main',
        tables: [{ tableName: '_sync_dirty_rows', syncKeyColumnName: 'key_json' }],
      },
      'is an oversqlite runtime table',
    ],
    [
      'view',
      'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL); CREATE VIEW v AS SELECT id FROM users',
      { schema: 'main', tables: [{ tableName: 'v', syncKeyColumnName: 'id' }] },
      'sync table v does not exist',
    ],
  ];
  for (const [name, sql, config, fragment] of cases) {
    it(name, async () => {
      await withDb(async (db) => {
        await db.exec(sql);
        await expect(initializeLocalRuntime(db, config)).rejects.toMatchObject({
          code: 'configuration',
          message: expect.stringContaining(fragment),
        });
        const residue = await db.get(
          "SELECT COUNT(*) AS n FROM sqlite_master WHERE substr(name, 1, 6) = '_sync_'",
        );
        expect(residue?.n).toBe(0);
      });
    });
  }

  it('rejects switching config.schema on a database with sync state', async () => {
    await withDb(async (db) => {
      await db.exec('CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT)');
      const config = { schema: 'main', tables: [{ tableName: 'users', syncKeyColumnName: 'id' }] };
      await openRuntime(db, config);
      await db.run("INSERT INTO users(id, name) VALUES ('u', 'n')");
      await expect(
        initializeLocalRuntime(db, { ...config, schema: 'business' }),
      ).rejects.toMatchObject({
        code: 'configuration',
        message: expect.stringContaining('already holds sync state for schema main'),
      });
    });
  });
});
