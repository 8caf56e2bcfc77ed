import {
  BACKENDS,
  del,
  ins,
  startTestServer,
  type TestServer,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedBundleHash, latestSeq, ok, recomputeBundleHash } from './helpers.js';

/** Users whose rows exist before the service bootstraps (adoption). */
const ADOPTED_USER = 'adopted-owner';
const ADOPTED_OTHER = 'adopted-other';

const SEED_SQL = `
INSERT INTO business.users (_sync_scope_id, id, name, email)
  VALUES ('${ADOPTED_USER}', '${uuid(1)}', 'Pre-existing', 'pre@example.com'),
         ('${ADOPTED_USER}', '${uuid(2)}', 'Pre-existing 2', 'pre2@example.com'),
         ('${ADOPTED_OTHER}', '${uuid(1)}', 'Other owner', 'other@example.com');
INSERT INTO business.posts (_sync_scope_id, id, title, content, author_id)
  VALUES ('${ADOPTED_USER}', '${uuid(10)}', 'Hello', 'World', '${uuid(1)}');
`;

describe.each(BACKENDS)('server-originated writes [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ backend, seedSql: SEED_SQL });
  });
  afterAll(async () => {
    await t?.close();
  });

  function execWrite(
    user: string,
    writerId: string,
    fn: (tx: { query: (sql: string, params?: unknown[]) => Promise<unknown> }) => Promise<unknown>,
  ): Promise<unknown> {
    return t.service.scopeManager.execWrite(user, { writerId }, fn as never);
  }

  it('execWrite commits one bundle that pull and snapshot show', async () => {
    const user = uniqueUser('exec');
    await t.initEmpty(user);
    await execWrite(user, 'server-writer', async (tx) => {
      await tx.query('INSERT INTO business.users (id, name, email) VALUES ($1, $2, $3)', [
        uuid(1),
        'From server',
        'srv@example.com',
      ]);
      await tx.query('INSERT INTO business.users (id, name, email) VALUES ($1, $2, $3)', [
        uuid(2),
        'Second',
        'srv2@example.com',
      ]);
    });
    const pulled = await t.pullAll(user, 'dev');
    expect(pulled.bundles).toHaveLength(1);
    const b = pulled.bundles[0];
    expect(b).toMatchObject({
      bundle_seq: 1,
      source_id: 'server-writer',
      source_bundle_id: 1,
    });
    expect(b.rows.map((r: { op: string; key: { id: string } }) => [r.op, r.key.id])).toEqual([
      ['INSERT', uuid(1)],
      ['INSERT', uuid(2)],
    ]);
    expect(b.rows[0].payload).toMatchObject({ id: uuid(1), name: 'From server' });
    expect(b.rows[0].payload).not.toHaveProperty('_sync_scope_id');
    expect(await recomputeBundleHash(b.rows)).toBe(
      await committedBundleHash(t, user, b.bundle_seq),
    );

    // The writer's sequence continues; client versions follow the bundle.
    // Server code scopes its statements: the owner guard rejects touching other scopes' rows.
    await execWrite(user, 'server-writer', (tx) =>
      tx.query('UPDATE business.users SET name = $2 WHERE id = $1 AND _sync_scope_id = $3', [
        uuid(1),
        'Renamed',
        user,
      ]),
    );
    const next = await t.pullAll(user, 'dev', 1);
    expect(next.bundles.map((x) => [x.bundle_seq, x.source_bundle_id, x.rows[0].op])).toEqual([
      [2, 2, 'UPDATE'],
    ]);
    // A client may now update the row with base version 2.
    const c = await t.pushOk(user, 'dev', 1, [
      { ...ins('users', uuid(1), { name: 'Client' }), op: 'UPDATE', base_row_version: 2 },
    ]);
    expect(c.bundle_seq).toBe(3);
  });

  it('execWrite on an uninitialized scope initializes it (connect → remote_authoritative)', async () => {
    const user = uniqueUser('autoinit');
    await execWrite(user, 'server-writer', (tx) =>
      tx.query('INSERT INTO business.users (id, name, email) VALUES ($1, $2, $3)', [
        uuid(1),
        'n',
        'e',
      ]),
    );
    expect((await t.connect(user, 'dev', true)).resolution).toBe('remote_authoritative');
    expect(await latestSeq(t, user)).toBe(1);
  });

  it('execWrite that changes nothing or throws leaves no bundle', async () => {
    const user = uniqueUser('noop');
    await t.initEmpty(user);
    await expect(execWrite(user, 'server-writer', (tx) => tx.query('SELECT 1'))).rejects.toThrow();
    await expect(
      execWrite(user, 'server-writer', async (tx) => {
        await tx.query('INSERT INTO business.users (id, name, email) VALUES ($1, $2, $3)', [
          uuid(1),
          'n',
          'e',
        ]);
        throw new Error('application failure');
      }),
    ).rejects.toThrow('application failure');
    expect(await latestSeq(t, user)).toBe(0);
    expect((await t.snapshotAll(user, 'dev')).rows).toEqual([]);
  });

  it("execWrite cannot touch another user's rows", async () => {
    const owner = uniqueUser('owner');
    const other = uniqueUser('other');
    await t.initEmpty(owner);
    await t.initEmpty(other);
    await t.pushOk(owner, 'dev', 1, [userIns(uuid(1), 'Owned')]);
    await expect(
      execWrite(other, 'server-writer', (tx) =>
        tx.query(
          `INSERT INTO business.users (_sync_scope_id, id, name, email) VALUES ($1, $2, 'x', 'y')`,
          [owner, uuid(5)],
        ),
      ),
    ).rejects.toThrow();
    // An UPDATE by visible key alone only reaches the writer's own scope.
    await expect(
      execWrite(other, 'server-writer', (tx) =>
        tx.query('UPDATE business.users SET name = $2 WHERE id = $1', [uuid(1), 'hijacked']),
      ),
    ).rejects.toThrow();
    const snap = await t.snapshotAll(owner, 'dev');
    expect(snap.rows.map((r) => r.payload.name)).toEqual(['Owned']);
    expect(await latestSeq(t, other)).toBe(0);
  });

  it.each([
    [
      'INSERT',
      `INSERT INTO business.users (_sync_scope_id, id, name, email) VALUES ('rogue-user', '${uuid(1)}', 'x', 'y')`,
    ],
    ['UPDATE', `UPDATE business.users SET name = 'rogue' WHERE _sync_scope_id = '${ADOPTED_USER}'`],
    ['DELETE', `DELETE FROM business.users WHERE _sync_scope_id = '${ADOPTED_USER}'`],
  ])('a plain %s on a registered table outside a bundle is rejected', async (_op, sql) => {
    await expect(t.database.query(sql)).rejects.toThrow();
    await expect(t.database.db.query(sql)).rejects.toThrow();
    const rows = await t.database.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM business.users WHERE _sync_scope_id = $1 AND name <> 'rogue'`,
      [ADOPTED_USER],
    );
    expect(rows[0]?.n).toBe(2);
  });

  it('deleting a parent captures the cascaded child deletes in the same bundle (push)', async () => {
    const user = uniqueUser('cascade');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [
      ins('categories', uuid(1), { name: 'root', parent_id: null }),
      ins('categories', uuid(2), { name: 'child', parent_id: uuid(1) }),
      ins('categories', uuid(3), { name: 'grandchild', parent_id: uuid(2) }),
      ins('files', uuid(10), { name: 'f', data: 'AA==' }),
      ins('file_reviews', uuid(11), { review: 'r', file_id: uuid(10) }),
    ]);
    const commit = await t.pushOk(user, 'dev', 2, [
      del('categories', uuid(1), 1),
      del('files', uuid(10), 1),
    ]);
    expect(commit.row_count).toBe(5);
    const page = ok(await t.committedRows(user, 'dev', 2));
    const effects = page.rows.map(
      (r: { op: string; table: string; key: { id: string } }) => `${r.op} ${r.table} ${r.key.id}`,
    );
    expect(effects.slice(0, 1)).toEqual([`DELETE categories ${uuid(1)}`]);
    expect([...effects].sort()).toEqual(
      [
        `DELETE categories ${uuid(1)}`,
        `DELETE categories ${uuid(2)}`,
        `DELETE categories ${uuid(3)}`,
        `DELETE file_reviews ${uuid(11)}`,
        `DELETE files ${uuid(10)}`,
      ].sort(),
    );
    expect(await recomputeBundleHash(page.rows)).toBe(commit.bundle_hash);
    expect((await t.snapshotAll(user, 'dev')).rows).toEqual([]);
    // The cascaded rows are tombstones at version 2: a re-insert needs base 2.
    const re = await t.pushBundle(user, 'dev', 3, [ins('categories', uuid(2), { name: 'again' })]);
    expect(re.commit?.status).toBe(409);
    expect(re.commit?.json.conflict).toMatchObject({
      server_row_version: 2,
      server_row_deleted: true,
    });
  });

  it('deleting a parent through execWrite captures the cascade too', async () => {
    const user = uniqueUser('cascade-srv');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [
      ins('teams', uuid(1), { name: 'team', captain_member_id: null }),
      ins('team_members', uuid(2), { name: 'm1', team_id: uuid(1) }),
      ins('team_members', uuid(3), { name: 'm2', team_id: uuid(1) }),
    ]);
    await execWrite(user, 'admin', (tx) =>
      tx.query('DELETE FROM business.teams WHERE id = $1 AND _sync_scope_id = $2', [uuid(1), user]),
    );
    const b = (await t.pullAll(user, 'dev', 1)).bundles;
    expect(b).toHaveLength(1);
    expect(b[0].source_id).toBe('admin');
    expect(
      b[0].rows
        .map(
          (r: { op: string; table: string; key: { id: string } }) =>
            `${r.op} ${r.table} ${r.key.id}`,
        )
        .sort(),
    ).toEqual(
      [
        `DELETE team_members ${uuid(2)}`,
        `DELETE team_members ${uuid(3)}`,
        `DELETE teams ${uuid(1)}`,
      ].sort(),
    );
  });

  describe('adoption of rows that existed before bootstrap', () => {
    it('appear as a baseline bundle from an oversync-adoption: source', async () => {
      expect((await t.connect(ADOPTED_USER, 'dev', true)).resolution).toBe('remote_authoritative');
      const pulled = await t.pullAll(ADOPTED_USER, 'dev');
      expect(pulled.bundles.length).toBeGreaterThanOrEqual(1);
      const baseline = pulled.bundles[0];
      expect(baseline.bundle_seq).toBe(1);
      expect(baseline.source_id).toMatch(
        /^oversync-adoption:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(baseline.source_bundle_id).toBeGreaterThanOrEqual(1);
      const adopted = pulled.bundles.flatMap((b) => b.rows);
      expect(adopted.every((r) => r.op === 'INSERT')).toBe(true);
      expect(adopted.map((r) => `${r.table} ${r.key.id}`).sort()).toEqual(
        [`posts ${uuid(10)}`, `users ${uuid(1)}`, `users ${uuid(2)}`].sort(),
      );
      const u1 = adopted.find((r) => r.table === 'users' && r.key.id === uuid(1));
      expect(u1.payload).toMatchObject({
        id: uuid(1),
        name: 'Pre-existing',
        email: 'pre@example.com',
      });
      expect(u1.payload).not.toHaveProperty('_sync_scope_id');
      for (const b of pulled.bundles) {
        expect(await recomputeBundleHash(b.rows)).toBe(
          await committedBundleHash(t, ADOPTED_USER, b.bundle_seq),
        );
      }
    });

    it('the snapshot contains the adopted rows with their baseline versions', async () => {
      const snap = await t.snapshotAll(ADOPTED_USER, 'dev');
      expect(snap.rows.map((r) => `${r.table} ${r.key.id}`).sort()).toEqual(
        [`posts ${uuid(10)}`, `users ${uuid(1)}`, `users ${uuid(2)}`].sort(),
      );
      expect(snap.rows.every((r) => r.row_version >= 1)).toBe(true);
    });

    it('booting another service on the same database does not adopt the rows again', async () => {
      const before = await t.pullAll(ADOPTED_USER, 'dev');
      const again = await t.withService({});
      const after = await again.pullAll(ADOPTED_USER, 'dev');
      expect(after.bundles.map((b) => [b.bundle_seq, b.source_id])).toEqual(
        before.bundles.map((b) => [b.bundle_seq, b.source_id]),
      );
    });

    it('adoption is per scope and adopted rows can be updated with their baseline version', async () => {
      const other = await t.pullAll(ADOPTED_OTHER, 'dev');
      expect(other.bundles.flatMap((b) => b.rows).map((r) => r.payload.name)).toEqual([
        'Other owner',
      ]);
      const version = other.bundles[0].rows[0].row_version;
      const c = await t.pushOk(ADOPTED_OTHER, 'dev', 1, [
        { ...ins('users', uuid(1), { name: 'Updated' }), op: 'UPDATE', base_row_version: version },
      ]);
      expect(c.bundle_seq).toBe(version + 1);
    });
  });
});
