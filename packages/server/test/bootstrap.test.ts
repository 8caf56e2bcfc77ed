import {
  checkRegisteredTables,
  createSyncService,
  SyncLayoutError,
  TableValidationError,
} from '@oversync/server';
import {
  BACKENDS,
  createTestDatabase,
  type TestDatabase,
  testAuthenticate,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const GOOD = `
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE IF NOT EXISTS app.notes (_sync_scope_id text NOT NULL, id uuid NOT NULL, body text NOT NULL,
  PRIMARY KEY (_sync_scope_id, id));
`;
const notes = { schema: 'app', table: 'notes', syncKeyColumn: 'id' };

function service(
  t: TestDatabase,
  tables: { schema: string; table: string; syncKeyColumn: string }[],
  db = t.db,
) {
  return createSyncService({
    db,
    tables,
    authenticate: testAuthenticate,
    retention: { pruneIntervalMs: 0 },
  });
}

describe.each(BACKENDS)('bootstrap [%s]', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    await t.exec(GOOD);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('lists every violation of every table in one TableValidationError and creates nothing', async () => {
    await t.exec(`
      CREATE SCHEMA IF NOT EXISTS bad;
      CREATE TABLE bad.no_scope (id uuid PRIMARY KEY, body text);
      CREATE TABLE bad.int_key (_sync_scope_id text NOT NULL, id bigint NOT NULL, PRIMARY KEY (_sync_scope_id, id));
      CREATE TABLE bad.nullable_scope (_sync_scope_id text, id text NOT NULL, PRIMARY KEY (id));
      CREATE TABLE bad.fk_out (_sync_scope_id text NOT NULL, id text NOT NULL, other_id uuid,
        PRIMARY KEY (_sync_scope_id, id), FOREIGN KEY (_sync_scope_id, other_id) REFERENCES app.notes (_sync_scope_id, id));
      CREATE TABLE bad.parent (_sync_scope_id text NOT NULL, id text NOT NULL, PRIMARY KEY (_sync_scope_id, id));
      CREATE TABLE bad.child (_sync_scope_id text NOT NULL, id text NOT NULL, parent_id text,
        PRIMARY KEY (_sync_scope_id, id),
        FOREIGN KEY (_sync_scope_id, parent_id) REFERENCES bad.parent (_sync_scope_id, id) ON DELETE SET NULL);
    `);
    const tables = [
      { schema: 'bad', table: 'no_scope', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'int_key', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'nullable_scope', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'fk_out', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'missing', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'parent', syncKeyColumn: 'id' },
      { schema: 'bad', table: 'child', syncKeyColumn: 'id' },
      { schema: 'Bad', table: 'x', syncKeyColumn: 'id' },
    ];
    const err = await service(t, tables)
      .bootstrap()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TableValidationError);
    const v = (err as TableValidationError).violations.join('\n');
    expect(v).toContain('bad.no_scope: missing hidden owner column');
    expect(v).toContain('bad.int_key: sync key column id must be uuid or text');
    expect(v).toContain('bad.nullable_scope: _sync_scope_id must be NOT NULL');
    expect(v).toContain('bad.nullable_scope: unique index');
    expect(v).toContain('references app.notes, which is not registered');
    expect(v).toContain(
      'bad.child: foreign key child__sync_scope_id_parent_id_fkey must be DEFERRABLE',
    );
    expect(v).toContain('ON DELETE SET NULL/SET DEFAULT would also clear _sync_scope_id');
    expect(v).not.toContain('bad.parent');
    expect(v).toContain('bad.missing: table does not exist');
    expect(v).toContain('Bad.x: schema and table names');
    expect(await checkRegisteredTables(t.db, tables)).toEqual(
      (err as TableValidationError).violations,
    );
    expect(await t.query(`SELECT to_regclass('sync.meta')::text AS r`)).toEqual([{ r: null }]);
    await t.exec('DROP SCHEMA bad CASCADE');
  });

  it('is idempotent and safe when several processes boot at once', async () => {
    const other = t.openAnother();
    try {
      await Promise.all([service(t, [notes]).bootstrap(), service(t, [notes], other).bootstrap()]);
      await service(t, [notes]).bootstrap();
      const catalog = await t.query<{ table_id: number }>(
        'SELECT table_id FROM sync.table_catalog',
      );
      expect(catalog).toEqual([{ table_id: 1 }]);
      const triggers = await t.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_trigger WHERE tgrelid = 'app.notes'::regclass AND tgname LIKE 'oversync_%'`,
      );
      expect(triggers).toEqual([{ n: '5' }]);
    } finally {
      await other.close();
    }
  });

  it('rejects writes to a registered table outside a bundle and refuses TRUNCATE', async () => {
    await service(t, [notes]).bootstrap();
    await expect(
      t.exec(`INSERT INTO app.notes VALUES ('u', '00000000-0000-4000-8000-000000000001', 'x')`),
    ).rejects.toThrow(/requires a sync bundle context/);
    await expect(t.exec('TRUNCATE app.notes')).rejects.toThrow(/TRUNCATE/);
    const rejected = await t.query<{ n: string }>(
      `SELECT (last_value - CASE WHEN is_called THEN 0 ELSE 1 END)::text AS n FROM sync.rejected_write_seq`,
    );
    expect(Number(rejected[0]?.n)).toBeGreaterThanOrEqual(1);
  });

  it('registers a table later without dropping sync state and adopts its existing rows', async () => {
    const s1 = service(t, [notes]);
    await s1.bootstrap();
    await s1.scopeManager.execWrite('alice', { writerId: 'seed' }, (tx) =>
      tx.query(
        `INSERT INTO app.notes (id, body) VALUES ('00000000-0000-4000-8000-0000000000a1', 'first')`,
      ),
    );
    // A table that already holds rows of two users (written before it was registered).
    await t.exec(`
      CREATE TABLE app.tags (_sync_scope_id text NOT NULL, name text NOT NULL, PRIMARY KEY (_sync_scope_id, name));
      INSERT INTO app.tags VALUES ('alice', 'red'), ('alice', 'blue'), ('bob', 'green');
    `);
    const tags = { schema: 'app', table: 'tags', syncKeyColumn: 'name' };
    const s2 = service(t, [notes, tags]);
    await s2.bootstrap();
    const ids = await t.query<{ table_id: number; table_name: string }>(
      'SELECT table_id, table_name FROM sync.table_catalog ORDER BY table_id',
    );
    expect(ids).toEqual([
      { table_id: 1, table_name: 'notes' },
      { table_id: 2, table_name: 'tags' },
    ]);
    const log = await t.query<{
      user_id: string;
      bundle_seq: string;
      source_id: string;
      row_count: string;
    }>(
      `SELECT us.user_id, bl.bundle_seq::text, bl.source_id, bl.row_count::text FROM sync.bundle_log bl
         JOIN sync.user_state us USING (user_pk) ORDER BY us.user_id, bl.bundle_seq`,
    );
    expect(log.map((r) => [r.user_id, r.bundle_seq, r.row_count])).toEqual([
      ['alice', '1', '1'],
      ['alice', '2', '2'],
      ['bob', '1', '1'],
    ]);
    expect(log[0]?.source_id).toBe('seed');
    expect(log[1]?.source_id).toMatch(/^oversync-adoption:[0-9a-f-]{36}$/);
    // Booting again adopts nothing twice.
    await service(t, [notes, tags]).bootstrap();
    const again = await t.query<{ n: string }>('SELECT count(*)::text AS n FROM sync.bundle_log');
    expect(again).toEqual([{ n: '3' }]);
  });

  it.runIf(backend === 'postgres')(
    'a routine boot takes no table locks: it completes while a push holds sync.push_sessions (postgres: needs two connections)',
    async () => {
      await service(t, [notes]).bootstrap();
      const other = t.openAnother();
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = other.transaction(async (tx) => {
        await tx.query(
          'LOCK TABLE sync.push_sessions, sync.push_session_rows IN ROW EXCLUSIVE MODE',
        );
        locked();
        await held;
      });
      try {
        await isLocked;
        const booted = await Promise.race([
          service(t, [notes])
            .bootstrap()
            .then(() => 'booted'),
          new Promise((resolve) => setTimeout(() => resolve('blocked'), 5000)),
        ]);
        expect(booted).toBe('booted');
      } finally {
        release();
        await holder;
        await other.close();
      }
    },
  );

  it('fails closed on a sync schema of an unknown layout', async () => {
    await service(t, [notes]).bootstrap();
    await t.exec(`UPDATE sync.meta SET layout_name = 'someone_else'`);
    try {
      await expect(service(t, [notes]).bootstrap()).rejects.toBeInstanceOf(SyncLayoutError);
    } finally {
      await t.exec(`UPDATE sync.meta SET layout_name = 'oversync_ts_postgres'`);
    }
  });
});
