import { BACKENDS, ins, startTestServer, type TestServer, uuid } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.each(BACKENDS)('snapshot session limits and source sequencing [%s]', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ backend, serviceOptions: { retention: { pruneIntervalMs: 0 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function seed(user: string): Promise<void> {
    await t.initEmpty(user, 's');
    await t.pushOk(user, 's', 1, [
      ins('users', uuid(1), { name: 'A'.repeat(300), email: 'a@x' }),
      ins('users', uuid(2), { name: 'B', email: 'b@x' }),
    ]);
  }

  it('409 snapshot_session_limit_exceeded with dimension byte_count, and no session is left', async () => {
    const user = 'lim-bytes';
    await seed(user);
    const limited = await t.withService({ limits: { max_bytes_per_snapshot_session: 400 } });
    const r = await limited.req('POST', '/sync/snapshot-sessions', { user, source: 's' });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      error: 'snapshot_session_limit_exceeded',
      dimension: 'byte_count',
      limit: 400,
    });
    expect(r.json.actual).toBeGreaterThan(400);
    const left = await t.database.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM sync.snapshot_sessions',
    );
    expect(left).toEqual([{ n: '0' }]);
  });

  it('409 snapshot_session_limit_exceeded with dimension row_byte_count for one oversized row', async () => {
    const user = 'lim-row';
    await seed(user);
    const limited = await t.withService({ limits: { max_bytes_per_snapshot_row: 300 } });
    const r = await limited.req('POST', '/sync/snapshot-sessions', { user, source: 's' });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      error: 'snapshot_session_limit_exceeded',
      dimension: 'row_byte_count',
      limit: 300,
    });
    expect(r.json.actual).toBeGreaterThan(300);
  });

  it('409 source_sequence_changed when the source committed elsewhere between create and commit', async () => {
    const user = 'seq-changed';
    await t.initEmpty(user, 'shared-id');
    const staged = await t.pushBundle(
      user,
      'shared-id',
      1,
      [ins('users', uuid(3), { name: 'C', email: 'c@x' })],
      {
        commit: false,
      },
    );
    expect(staged.create.json.status).toBe('staging');
    // A server writer that (wrongly) shares the client's source id takes source_bundle_id 1.
    await t.service.scopeManager.execWrite(user, { writerId: 'shared-id' }, (tx) =>
      tx.query(`INSERT INTO business.users (id, name, email) VALUES ($1, 'S', 's@x')`, [uuid(4)]),
    );
    const commit = await t.commit(user, 'shared-id', staged.pushId as string);
    expect(commit.status).toBe(409);
    expect(commit.json.error).toBe('source_sequence_changed');
    const users = await t.database.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM business.users WHERE _sync_scope_id = $1`,
      [user],
    );
    expect(users).toEqual([{ n: '1' }]);
  });

  it('accepts a DELETE row that carries "payload": null (kotlinx default encoding) as an omitted payload', async () => {
    const user = 'delete-null';
    await t.initEmpty(user, 's');
    await t.pushOk(user, 's', 1, [ins('users', uuid(7), { name: 'D', email: 'd@x' })]);
    const commit = await t.pushOk(user, 's', 2, [
      {
        schema: 'business',
        table: 'users',
        key: { id: uuid(7) },
        op: 'DELETE',
        base_row_version: 1,
        payload: null,
      },
    ]);
    expect(commit.row_count).toBe(1);
    const left = await t.database.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM business.users WHERE _sync_scope_id = $1`,
      [user],
    );
    expect(left).toEqual([{ n: '0' }]);
  });

  it('refuses a commit whose row would exceed max_bytes_per_snapshot_row (snapshots would fail forever)', async () => {
    const user = 'row-too-big';
    await t.initEmpty(user, 's');
    const limited = await t.withService({ limits: { max_bytes_per_snapshot_row: 400 } });
    const big = await limited.pushBundle(user, 's', 1, [
      ins('users', uuid(8), { name: 'x'.repeat(500), email: 'e@x' }),
    ]);
    expect(big.commit?.status).toBe(400);
    expect(big.commit?.json).toMatchObject({ error: 'push_commit_invalid', limit: 400 });
    const small = await limited.pushBundle(user, 's', 1, [
      ins('users', uuid(8), { name: 'ok', email: 'e@x' }),
    ]);
    expect(small.commit?.status).toBe(200);
    const snap = await limited.req('POST', '/sync/snapshot-sessions', { user, source: 's' });
    expect(snap.status).toBe(200);
  });

  it('answers 409 initialization_stale (not 400) to a seed push after the scope was initialized by another source', async () => {
    const user = 'stale-seed';
    const seed = await t.connect(user, 'phone', true);
    expect(seed.resolution).toBe('initialize_local');
    // The lease lapses while the phone is offline; the tablet initializes the scope instead.
    await t.database.exec(
      `UPDATE sync.user_state SET lease_expires_at = now() - interval '1 second' WHERE user_id = '${user}'`,
    );
    expect((await t.connect(user, 'tablet', false)).resolution).toBe('initialize_empty');
    const r = await t.createPush(user, 'phone', {
      source_bundle_id: 1,
      planned_row_count: 1,
      canonical_request_hash: 'a'.repeat(64),
      initialization_id: seed.initialization_id,
    });
    expect(r.status).toBe(409);
    expect(r.json.error).toBe('initialization_stale');
  });

  it('status counts in-flight sync operations, not the probe itself', async () => {
    const r = await t.req('GET', '/syncx/status');
    expect(r.status).toBe(200);
    expect(r.json.inflight_operations).toBe(0);
    expect(r.json.lifecycle).toBe('running');
  });

  it('rejects planned_row_count above max_rows_per_bundle', async () => {
    const user = 'lim-planned';
    await t.initEmpty(user, 's');
    const limited = await t.withService({ limits: { max_rows_per_bundle: 3 } });
    const r = await limited.createPush(user, 's', {
      source_bundle_id: 1,
      planned_row_count: 4,
      canonical_request_hash: 'a'.repeat(64),
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('push_session_invalid');
  });
});

describe.each(BACKENDS)('key size limit [%s]', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: `CREATE SCHEMA k; CREATE TABLE k.notes (_sync_scope_id text NOT NULL, id text NOT NULL, body text,
        PRIMARY KEY (_sync_scope_id, id));`,
      tables: [{ schema: 'k', table: 'notes', syncKeyColumn: 'id' }],
      serviceOptions: { retention: { pruneIntervalMs: 0 } },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rejects a text key longer than 1024 bytes with push_chunk_invalid (not a database error)', async () => {
    await t.initEmpty('keys', 's');
    const row = (id: string) => ({
      schema: 'k',
      table: 'notes',
      key: { id },
      op: 'INSERT',
      base_row_version: 0,
      payload: { id, body: 'b' },
    });
    const long = await t.pushBundle('keys', 's', 1, [row('é'.repeat(513))]);
    expect(long.chunks[0]?.status).toBe(400);
    expect(long.chunks[0]?.json.error).toBe('push_chunk_invalid');
    const ok = await t.pushBundle('keys', 's', 1, [row('k'.repeat(1024))]);
    expect(ok.commit?.status).toBe(200);
  });
});
