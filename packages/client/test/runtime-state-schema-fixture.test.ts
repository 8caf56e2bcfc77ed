/**
 * Fixture `runtime-state/schema/v1.json`: open a fresh users database (initialize + bind) and
 * compare the runtime PRAGMAs, `_sync_*` tables, indexes, triggers and every durable row, with
 * `<source-N>` / `<timestamp>` placeholders bound to the actual values.
 *
 * Plus non-fixture checks of source binding: first-time capture of pre-existing rows, refusal on
 * leftover state, reopen stability, and attachment normalisation.
 */

import { randomUUID } from 'node:crypto';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../src/driver/driver.js';
import type { LocalRuntimeConfig } from '../src/local/config-validation.js';
import { initializeLocalRuntime } from '../src/local/initialize.js';
import { bindLocalSource } from '../src/local/source-binding.js';
import {
  type Json,
  readRuntimeCatalog,
  readRuntimeState,
  resolvePlaceholders,
} from './support/catalog.js';

/** The fixture's `users` app table (its trigger payload is `json_object('id', …, 'name', …)`). */
const USERS_SQL = 'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)';
const USERS_CONFIG: LocalRuntimeConfig = {
  schema: 'main',
  tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
};

async function withDb(fn: (db: SqliteDriver) => Promise<void>): Promise<void> {
  const db = createBetterSqlite3Driver({ filename: ':memory:' });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

async function open(db: SqliteDriver, config: LocalRuntimeConfig, newId = randomUUID) {
  const schema = await initializeLocalRuntime(db, config);
  return { schema, binding: await bindLocalSource(db, schema, newId) };
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'runtime-state/schema/v1.json' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixture = loadContract('runtime-state/schema/v1.json') as { [key: string]: Json };

  it('catalog and state after opening a fresh users database', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const { binding } = await open(db, USERS_CONFIG);
      expect(binding.created).toBe(true);
      const catalog = await readRuntimeCatalog(db);
      expect(catalog).toEqual({
        pragmas: fixture.pragmas,
        tables: fixture.tables,
        indexes: fixture.indexes,
        triggers: fixture.triggers,
      });
      const state = await readRuntimeState(db);
      const bindings = new Map<string, string>();
      expect(state).toEqual(resolvePlaceholders(fixture.state as Json, state, bindings));
      expect(bindings.get('<source-1>')).toBe(binding.sourceId);
    });
  });
});

describe('bindLocalSource', () => {
  it('captures pre-existing rows once, parents first, keys ascending, base 0', async () => {
    await withDb(async (db) => {
      await db.exec(`
        CREATE TABLE posts (id TEXT PRIMARY KEY NOT NULL, user_id BLOB REFERENCES users(id), n INTEGER, r REAL);
        CREATE TABLE users (id BLOB PRIMARY KEY NOT NULL, name TEXT);
        INSERT INTO users VALUES (x'00000000000000000000000000000002', 'b'), (x'00000000000000000000000000000001', 'a');
        INSERT INTO posts VALUES ('p2', x'00000000000000000000000000000001', 9007199254740993, 0.5), ('p1', NULL, NULL, NULL);
      `);
      const config: LocalRuntimeConfig = {
        schema: 'main',
        tables: [
          { tableName: 'posts', syncKeyColumnName: 'id' },
          { tableName: 'users', syncKeyColumnName: 'id' },
        ],
      };
      const first = await open(db, config);
      expect(first.binding.created).toBe(true);
      const rows = await db.all(
        'SELECT table_name, key_json, op, base_row_version, payload, dirty_ordinal FROM _sync_dirty_rows ORDER BY dirty_ordinal',
      );
      expect(rows).toEqual([
        {
          table_name: 'users',
          key_json: '{"id":"00000000000000000000000000000001"}',
          op: 'INSERT',
          base_row_version: 0,
          payload: '{"id":"00000000000000000000000000000001","name":"a"}',
          dirty_ordinal: 1,
        },
        {
          table_name: 'users',
          key_json: '{"id":"00000000000000000000000000000002"}',
          op: 'INSERT',
          base_row_version: 0,
          payload: '{"id":"00000000000000000000000000000002","name":"b"}',
          dirty_ordinal: 2,
        },
        {
          table_name: 'posts',
          key_json: '{"id":"p1"}',
          op: 'INSERT',
          base_row_version: 0,
          payload: '{"id":"p1","user_id":null,"n":null,"r":null}',
          dirty_ordinal: 3,
        },
        {
          table_name: 'posts',
          key_json: '{"id":"p2"}',
          op: 'INSERT',
          base_row_version: 0,
          payload:
            '{"id":"p2","user_id":"00000000000000000000000000000001","n":"9007199254740993","r":"0.5"}',
          dirty_ordinal: 4,
        },
      ]);

      // Reopening keeps the source and captures nothing again.
      const again = await open(db, config);
      expect(again.binding).toEqual({ sourceId: first.binding.sourceId, created: false });
      expect((await db.get('SELECT COUNT(*) AS n FROM _sync_dirty_rows'))?.n).toBe(4);
      expect((await db.get('SELECT COUNT(*) AS n FROM _sync_source_state'))?.n).toBe(1);
    });
  });

  it('refuses first capture when sync state is already present', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const { schema } = await open(db, USERS_CONFIG);
      await db.run(
        "INSERT INTO _sync_row_state(schema_name, table_name, key_json, row_version, deleted) VALUES ('main', 'users', '{\"id\":\"x\"}', 3, 0)",
      );
      await db.run("UPDATE _sync_attachment_state SET current_source_id = ''");
      await expect(bindLocalSource(db, schema, randomUUID)).rejects.toMatchObject({
        code: 'local_state_conflict',
        message: expect.stringContaining('_sync_row_state=1'),
      });
      // The transaction rolled back: still no source bound.
      const row = await db.get('SELECT current_source_id FROM _sync_attachment_state');
      expect(row?.current_source_id).toBe('');
    });
  });

  it('skips generated ids that already exist and rejects invalid ones', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const schema = await initializeLocalRuntime(db, USERS_CONFIG);
      await db.run("INSERT INTO _sync_source_state(source_id) VALUES ('used-1')");
      const ids = ['used-1', 'fresh-2'];
      const binding = await bindLocalSource(db, schema, () => ids.shift() as string);
      expect(binding).toEqual({ sourceId: 'fresh-2', created: true });

      await db.run("UPDATE _sync_attachment_state SET current_source_id = ''");
      await db.run('DELETE FROM _sync_dirty_rows');
      await expect(bindLocalSource(db, schema, () => 'has space')).rejects.toMatchObject({
        code: 'configuration',
      });
    });
  });

  it('keeps an attached binding with its int64 checkpoint and lease', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const { schema } = await open(db, USERS_CONFIG);
      await db.run(
        "UPDATE _sync_attachment_state SET binding_state = 'attached', attached_user_id = 'u1', last_bundle_seq_seen = 9223372036854775807, rebuild_required = 1, pending_initialization_id = 'lease'",
      );
      await db.run('UPDATE _sync_apply_state SET apply_mode = 1');
      await bindLocalSource(db, schema, randomUUID);
      const row = await db.get(
        'SELECT binding_state, attached_user_id, schema_name, CAST(last_bundle_seq_seen AS TEXT) AS seq, rebuild_required, pending_initialization_id FROM _sync_attachment_state',
      );
      expect(row).toEqual({
        binding_state: 'attached',
        attached_user_id: 'u1',
        schema_name: 'main',
        seq: '9223372036854775807',
        rebuild_required: 1,
        pending_initialization_id: 'lease',
      });
      expect((await db.get('SELECT apply_mode FROM _sync_apply_state'))?.apply_mode).toBe(0);
    });
  });

  it('drops the lease while an operation is pending and resets to anonymous on remote_replace', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const { schema } = await open(db, USERS_CONFIG);
      const attach =
        "UPDATE _sync_attachment_state SET binding_state = 'attached', attached_user_id = 'u1', schema_name = 'main', last_bundle_seq_seen = 5, rebuild_required = 1, pending_initialization_id = 'lease'";
      await db.run(attach);
      await db.run("UPDATE _sync_operation_state SET kind = 'source_recovery'");
      await bindLocalSource(db, schema, randomUUID);
      expect(
        await db.get(
          'SELECT binding_state, last_bundle_seq_seen, rebuild_required, pending_initialization_id FROM _sync_attachment_state',
        ),
      ).toEqual({
        binding_state: 'attached',
        last_bundle_seq_seen: 5,
        rebuild_required: 1,
        pending_initialization_id: '',
      });

      await db.run(attach);
      await db.run("UPDATE _sync_operation_state SET kind = 'remote_replace'");
      await bindLocalSource(db, schema, randomUUID);
      expect(
        await db.get(
          'SELECT binding_state, attached_user_id, schema_name, last_bundle_seq_seen, rebuild_required, pending_initialization_id FROM _sync_attachment_state',
        ),
      ).toEqual({
        binding_state: 'anonymous',
        attached_user_id: '',
        schema_name: '',
        last_bundle_seq_seen: 0,
        rebuild_required: 0,
        pending_initialization_id: '',
      });
    });
  });

  it('resets an attached binding without a user id to anonymous', async () => {
    await withDb(async (db) => {
      await db.exec(USERS_SQL);
      const { schema } = await open(db, USERS_CONFIG);
      await db.run(
        "UPDATE _sync_attachment_state SET binding_state = 'attached', attached_user_id = '', last_bundle_seq_seen = 3",
      );
      await bindLocalSource(db, schema, randomUUID);
      expect(
        await db.get('SELECT binding_state, last_bundle_seq_seen FROM _sync_attachment_state'),
      ).toEqual({ binding_state: 'anonymous', last_bundle_seq_seen: 0 });
    });
  });
});
