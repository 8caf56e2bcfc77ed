/**
 * HTTP-level and server-API tests of the invariants listed in docs/protocol.md §7
 * ("Invariants without a test yet").
 */

import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '@oversync/cli';
import type { Queryable } from '@oversync/server';
import {
  BACKENDS,
  canonicalRequestHash,
  del,
  ins,
  type PushRow,
  startTestServer,
  type TableSpecs,
  type TestClient,
  type TestServer,
  uniqueUser,
  upd,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PULL_ROW_BUDGET } from '../src/pull/pull.js';
import { expectError, latestSeq, ok, TestClock } from './helpers.js';

/**
 * The demo schema plus:
 * - `inv.accounts`: a second, non-deferrable unique index on `(_sync_scope_id, email)`;
 * - `inv.bulk`: a tiny text-keyed table for bundles of tens of thousands of rows;
 * - `inv.audit`: a table that is NOT registered (server writes that capture nothing).
 */
const SCHEMA_SQL = `${DEMO_SCHEMA_SQL}
CREATE SCHEMA IF NOT EXISTS inv;
CREATE TABLE inv.accounts (
  _sync_scope_id TEXT NOT NULL,
  id UUID NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
);
CREATE UNIQUE INDEX accounts_email_uq ON inv.accounts (_sync_scope_id, email);
CREATE TABLE inv.bulk (
  _sync_scope_id TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
);
CREATE TABLE inv.audit (
  id SERIAL PRIMARY KEY,
  note TEXT NOT NULL
);
`;

const TABLES = [
  ...DEMO_TABLES,
  { schema: 'inv', table: 'accounts', syncKeyColumn: 'id' },
  { schema: 'inv', table: 'bulk', syncKeyColumn: 'id' },
] as TableSpecs;

const NO_PRUNING = { retention: { pruneIntervalMs: 0 } };

/** An `inv.accounts` row. */
function acc(op: 'INSERT' | 'UPDATE', id: string, email: string, base = 0): PushRow {
  return op === 'INSERT'
    ? ins('accounts', id, { email }, base, 'inv')
    : upd('accounts', id, { email }, base, 'inv');
}

function accDel(id: string, base: number): PushRow {
  return del('accounts', id, base, 'inv');
}

describe.each(BACKENDS)('invariants [%s]', (backend) => {
  let t: TestServer;

  const snapClock = new TestClock();
  let snapTtl: TestClient;
  const pushClock = new TestClock();
  let pushTtl: TestClient;
  const leaseClock = new TestClock();
  let leaseSvc: TestClient;

  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: SCHEMA_SQL,
      tables: TABLES,
      serviceOptions: NO_PRUNING,
    });
    snapTtl = await t.withService({
      ...NO_PRUNING,
      now: snapClock.now,
      limits: { snapshot_session_ttl_seconds: 60 },
    });
    pushTtl = await t.withService({
      ...NO_PRUNING,
      now: pushClock.now,
      limits: { push_session_ttl_seconds: 60 },
    });
    leaseSvc = await t.withService({
      ...NO_PRUNING,
      now: leaseClock.now,
      limits: { initialization_lease_ttl_seconds: 10 },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function ready(label: string, c: TestClient = t, source = 'init-src'): Promise<string> {
    const user = uniqueUser(label);
    await c.initEmpty(user, source);
    return user;
  }

  /** A timestamptz column as epoch milliseconds (same on both backends). */
  async function instantMs(sql: string, params: unknown[]): Promise<number> {
    const rows = await t.database.query<{ ms: string }>(sql, params);
    expect(rows, sql).toHaveLength(1);
    return Number(rows[0]?.ms);
  }

  function snapshotExpiresMs(snapshotId: string): Promise<number> {
    return instantMs(
      `SELECT (extract(epoch FROM expires_at) * 1000)::text AS ms FROM sync.snapshot_sessions
        WHERE snapshot_id = $1::uuid`,
      [snapshotId],
    );
  }

  function pushExpiresMs(pushId: string): Promise<number> {
    return instantMs(
      `SELECT (extract(epoch FROM expires_at) * 1000)::text AS ms FROM sync.push_sessions
        WHERE push_id = $1::uuid`,
      [pushId],
    );
  }

  async function count(sql: string, params: unknown[]): Promise<number> {
    const rows = await t.database.query<{ n: string }>(sql, params);
    return Number(rows[0]?.n);
  }

  /** A staging push session for `rows`; returns its push_id. */
  async function staging(
    c: TestClient,
    user: string,
    source: string,
    sbid: number,
    rows: PushRow[],
    initializationId?: string,
  ): Promise<string> {
    const body: Record<string, unknown> = {
      source_bundle_id: sbid,
      planned_row_count: rows.length,
      canonical_request_hash: await canonicalRequestHash(rows),
    };
    if (initializationId !== undefined) body.initialization_id = initializationId;
    const r = ok(await c.createPush(user, source, body));
    expect(r.status).toBe('staging');
    return r.push_id as string;
  }

  /** Commits one server-written bundle of `n` rows into `inv.bulk`. */
  async function bulkBundle(user: string, prefix: string, n: number): Promise<void> {
    const r = await t.service.scopeManager.execWrite(user, { writerId: 'bulk-writer' }, (tx) =>
      tx.query(
        `INSERT INTO inv.bulk (id) SELECT $1::text || g::text FROM generate_series(1, $2::int) g`,
        [prefix, n],
      ),
    );
    expect(r.bundle.rowCount).toBe(n);
  }

  describe('session TTLs', () => {
    it('snapshot: every chunk read (and a snapshot_chunk_too_small answer) extends expires_at to now + TTL', async () => {
      const user = await ready('snapttl', snapTtl);
      await snapTtl.pushOk(user, 'dev', 1, [
        userIns(uuid(1), 'a'),
        userIns(uuid(2), 'b'),
        userIns(uuid(3), 'c'),
      ]);
      const s = ok(await snapTtl.createSnapshot(user, 'dev'));
      const originalExpiry = Date.parse(s.expires_at);
      expect(originalExpiry - snapClock.now().getTime()).toBeGreaterThan(55_000);
      expect(originalExpiry - snapClock.now().getTime()).toBeLessThanOrEqual(60_000);
      expect(await snapshotExpiresMs(s.snapshot_id)).toBe(originalExpiry);

      snapClock.advance(40_000);
      const c1 = ok(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, {
          after_row_ordinal: 0,
          max_rows: 1,
        }),
      );
      expect(c1.rows).toHaveLength(1);
      const extended = await snapshotExpiresMs(s.snapshot_id);
      expect(extended).toBeGreaterThan(originalExpiry);
      expect(Math.abs(extended - (snapClock.now().getTime() + 60_000))).toBeLessThan(5_000);

      // 80 s after creation, i.e. past the original expires_at: the session is still readable.
      snapClock.advance(40_000);
      expect(snapClock.now().getTime()).toBeGreaterThan(originalExpiry);
      const c2 = ok(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, {
          after_row_ordinal: 1,
          max_rows: 1,
        }),
      );
      expect(c2.rows).toHaveLength(1);
      expect(c2.next_row_ordinal).toBe(2);

      // A snapshot_chunk_too_small answer extends the TTL too.
      snapClock.advance(40_000);
      const lastOkRead = snapClock.now().getTime() - 40_000;
      expectError(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, {
          after_row_ordinal: 2,
          max_bytes: 1,
        }),
        400,
        'snapshot_chunk_too_small',
      );
      snapClock.advance(40_000);
      // 80 s after the last successful read: alive only because the too-small read extended it.
      expect(snapClock.now().getTime() - lastOkRead).toBeGreaterThan(60_000);
      const c3 = ok(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 2 }),
      );
      expect(c3.rows).toHaveLength(1);
      expect(c3.has_more).toBe(false);

      // Without reads it still lapses after one TTL.
      snapClock.advance(61_000);
      expectError(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 0 }),
        410,
        'snapshot_session_expired',
      );
    });

    it('push: each chunk resets expires_at to now + TTL, so a slow upload commits long after the first TTL', async () => {
      const user = await ready('pushttl', pushTtl);
      const rows = [userIns(uuid(1), 'a'), userIns(uuid(2), 'b'), userIns(uuid(3), 'c')];
      const id = await staging(pushTtl, user, 'dev', 1, rows);
      const createdExpiry = await pushExpiresMs(id);
      for (const [i, row] of rows.entries()) {
        pushClock.advance(40_000);
        ok(await pushTtl.chunk(user, 'dev', id, i, [row]));
        const expiry = await pushExpiresMs(id);
        expect(Math.abs(expiry - (pushClock.now().getTime() + 60_000))).toBeLessThan(5_000);
      }
      // 160 s after create (original TTL 60 s), 40 s after the last chunk.
      pushClock.advance(40_000);
      expect(pushClock.now().getTime()).toBeGreaterThan(createdExpiry + 60_000);
      const commit = ok(await pushTtl.commit(user, 'dev', id));
      expect(commit.row_count).toBe(3);

      // Control: more than one TTL after the last chunk, the session has expired.
      const more = [userIns(uuid(4), 'd'), userIns(uuid(5), 'e')];
      const id2 = await staging(pushTtl, user, 'dev', 2, more);
      pushClock.advance(40_000);
      ok(await pushTtl.chunk(user, 'dev', id2, 0, more.slice(0, 1)));
      pushClock.advance(61_000);
      expectError(
        await pushTtl.chunk(user, 'dev', id2, 1, more.slice(1)),
        410,
        'push_session_expired',
      );
      expect(await latestSeq(pushTtl, user)).toBe(1);
    });

    it('DELETE of an expired push session → 410 push_session_expired, and the session is gone (404)', async () => {
      const user = await ready('pushdelexp', pushTtl);
      const rows = [userIns(uuid(1)), userIns(uuid(2))];
      const id = await staging(pushTtl, user, 'dev', 1, rows);
      ok(await pushTtl.chunk(user, 'dev', id, 0, rows.slice(0, 1)));
      pushClock.advance(61_000);
      expectError(await pushTtl.deletePush(user, 'dev', id), 410, 'push_session_expired');
      expect(
        await count('SELECT count(*)::text AS n FROM sync.push_sessions WHERE push_id = $1::uuid', [
          id,
        ]),
      ).toBe(0);
      expect(
        await count(
          'SELECT count(*)::text AS n FROM sync.push_session_rows WHERE push_id = $1::uuid',
          [id],
        ),
      ).toBe(0);
      expectError(await pushTtl.deletePush(user, 'dev', id), 404, 'push_session_not_found');
      expectError(
        await pushTtl.chunk(user, 'dev', id, 1, rows.slice(1)),
        404,
        'push_session_not_found',
      );
      expectError(await pushTtl.commit(user, 'dev', id), 404, 'push_session_not_found');
    });

    it('DELETE of an expired, unswept snapshot session → 204, then 404', async () => {
      const user = await ready('snapdelexp', snapTtl);
      await snapTtl.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
      const s = ok(await snapTtl.createSnapshot(user, 'dev'));
      snapClock.advance(61_000);
      expectError(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 0 }),
        410,
        'snapshot_session_expired',
      );
      const d = await snapTtl.deleteSnapshot(user, 'dev', s.snapshot_id);
      expect(d.status, d.text).toBe(204);
      expectError(
        await snapTtl.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 0 }),
        404,
        'snapshot_session_not_found',
      );
    });
  });

  describe('push sessions', () => {
    it('chunk, commit and delete from another source of the same user → 403 push_session_forbidden; the session is intact', async () => {
      const user = await ready('othersrc');
      const rows = [userIns(uuid(1), 'mine')];
      const id = await staging(t, user, 'src-a', 1, rows);
      expectError(await t.chunk(user, 'src-b', id, 0, rows), 403, 'push_session_forbidden');
      expectError(await t.commit(user, 'src-b', id), 403, 'push_session_forbidden');
      expectError(await t.deletePush(user, 'src-b', id), 403, 'push_session_forbidden');
      ok(await t.chunk(user, 'src-a', id, 0, rows));
      // Complete, but still not committable from the other source.
      expectError(await t.commit(user, 'src-b', id), 403, 'push_session_forbidden');
      expectError(await t.deletePush(user, 'src-b', id), 403, 'push_session_forbidden');
      expect(await latestSeq(t, user)).toBe(0);
      const commit = ok(await t.commit(user, 'src-a', id));
      expect(commit).toMatchObject({ bundle_seq: 1, source_id: 'src-a', source_bundle_id: 1 });
    });

    it('max_bytes_per_bundle is enforced at chunk time (400 push_chunk_invalid, nothing staged)', async () => {
      const limited = await t.withService({
        ...NO_PRUNING,
        limits: { max_bytes_per_bundle: 1200 },
      });
      const user = await ready('maxbytes', limited);
      const row = (n: number, len: number) =>
        ins('users', uuid(n), { name: 'x'.repeat(len), email: 'e@x' });

      // One row alone over the limit.
      const big = [row(1, 1300)];
      const id = await staging(limited, user, 'dev', 1, big);
      expectError(await limited.chunk(user, 'dev', id, 0, big), 400, 'push_chunk_invalid');
      expect(
        await count(
          'SELECT count(*)::text AS n FROM sync.push_session_rows WHERE push_id = $1::uuid',
          [id],
        ),
      ).toBe(0);
      expect(
        await count(
          'SELECT next_expected_row_ordinal::text AS n FROM sync.push_sessions WHERE push_id = $1::uuid',
          [id],
        ),
      ).toBe(0);

      // Cumulative over chunks: the third ~470-byte payload would pass 1200 bytes.
      const rows = [row(2, 400), row(3, 400), row(4, 400)];
      const id2 = await staging(limited, user, 'dev', 1, [...rows.slice(0, 2), row(5, 10)]);
      ok(await limited.chunk(user, 'dev', id2, 0, rows.slice(0, 1)));
      ok(await limited.chunk(user, 'dev', id2, 1, rows.slice(1, 2)));
      expectError(
        await limited.chunk(user, 'dev', id2, 2, rows.slice(2, 3)),
        400,
        'push_chunk_invalid',
      );
      expect(
        await count(
          'SELECT count(*)::text AS n FROM sync.push_session_rows WHERE push_id = $1::uuid',
          [id2],
        ),
      ).toBe(2);
      // The session still expects ordinal 2; a small row fits.
      const follow = ok(await limited.chunk(user, 'dev', id2, 2, [row(5, 10)]));
      expect(follow.next_expected_row_ordinal).toBe(3);
      const commit = ok(await limited.commit(user, 'dev', id2));
      expect(commit.row_count).toBe(3);
      const snap = await limited.snapshotAll(user, 'dev');
      expect(snap.rows.map((r) => r.key.id).sort()).toEqual([uuid(2), uuid(3), uuid(5)]);
    });
  });

  describe('apply order DELETE → UPDATE → INSERT', () => {
    it('one bundle frees a non-deferrable unique value and claims it again, whatever the upload order', async () => {
      const user = await ready('uniq');
      const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((n) => uuid(n));
      const c1 = await t.pushOk(user, 'dev', 1, [
        acc('INSERT', a as string, 'x@example.com'),
        acc('INSERT', b as string, 'y@example.com'),
      ]);
      expect(c1.bundle_seq).toBe(1);

      // The unique index is enforced: claiming a live value fails.
      const clash = await t.pushBundle(user, 'dev', 2, [
        acc('INSERT', e as string, 'x@example.com'),
      ]);
      expectError(clash.commit as never, 400, 'push_commit_invalid');
      expect(clash.commit?.json.sqlstate).toBe('23505');
      expect(await latestSeq(t, user)).toBe(1);

      // INSERT claims x (uploaded first), DELETE frees it (uploaded second).
      const c2 = await t.pushOk(user, 'dev', 2, [
        acc('INSERT', c as string, 'x@example.com'),
        accDel(a as string, 1),
      ]);
      expect(c2.bundle_seq).toBe(2);
      const p2 = ok(await t.committedRows(user, 'dev', 2));
      expect(p2.rows.map((r: { op: string; key: { id: string } }) => [r.op, r.key.id])).toEqual([
        ['INSERT', c],
        ['DELETE', a],
      ]);

      // INSERT claims y (uploaded first), UPDATE frees it (uploaded second).
      const c3 = await t.pushOk(user, 'dev', 3, [
        acc('INSERT', d as string, 'y@example.com'),
        acc('UPDATE', b as string, 'z@example.com', 1),
      ]);
      expect(c3.bundle_seq).toBe(3);

      // UPDATE claims z (uploaded first), DELETE frees it (uploaded second).
      const c4 = await t.pushOk(user, 'dev', 4, [
        acc('UPDATE', d as string, 'z@example.com', 3),
        accDel(b as string, 3),
      ]);
      expect(c4.bundle_seq).toBe(4);

      const snap = await t.snapshotAll(user, 'dev');
      expect(
        snap.rows
          .filter((r) => r.table === 'accounts')
          .map((r) => [r.key.id, r.payload.email, r.row_version]),
      ).toEqual([
        [c, 'x@example.com', 2],
        [d, 'z@example.com', 4],
      ]);
    });
  });

  describe('pull', () => {
    it(`row budget: a page stops before the cumulative row count passes PULL_ROW_BUDGET, and always holds ≥ 1 bundle`, async () => {
      expect(PULL_ROW_BUDGET).toBe(20_000);
      const user = await ready('budget');
      await bulkBundle(user, 'a', PULL_ROW_BUDGET + 1); // 1: over the budget on its own
      await bulkBundle(user, 'b', 1); // 2
      await bulkBundle(user, 'c', PULL_ROW_BUDGET - 1); // 3: 2 + 3 = exactly the budget
      await bulkBundle(user, 'd', 1); // 4: would pass the budget after 2 + 3
      await bulkBundle(user, 'e', 1); // 5

      const shape = (page: { bundles: { bundle_seq: number; rows: unknown[] }[] }) =>
        page.bundles.map((b) => [b.bundle_seq, b.rows.length]);

      const p1 = ok(await t.pull(user, 'dev', { after_bundle_seq: 0, max_bundles: 1000 }));
      expect(p1.stable_bundle_seq).toBe(5);
      expect(shape(p1)).toEqual([[1, PULL_ROW_BUDGET + 1]]);
      expect(p1.has_more).toBe(true);

      const p2 = ok(
        await t.pull(user, 'dev', { after_bundle_seq: 1, target_bundle_seq: 5, max_bundles: 1000 }),
      );
      expect(shape(p2)).toEqual([
        [2, 1],
        [3, PULL_ROW_BUDGET - 1],
      ]);
      expect(p2.has_more).toBe(true);

      const p3 = ok(
        await t.pull(user, 'dev', { after_bundle_seq: 3, target_bundle_seq: 5, max_bundles: 1000 }),
      );
      expect(shape(p3)).toEqual([
        [4, 1],
        [5, 1],
      ]);
      expect(p3.has_more).toBe(false);

      // The budget applies under a frozen target too: bundle 1 alone, has_more up to the target.
      const p4 = ok(
        await t.pull(user, 'dev', { after_bundle_seq: 0, target_bundle_seq: 2, max_bundles: 1000 }),
      );
      expect(shape(p4)).toEqual([[1, PULL_ROW_BUDGET + 1]]);
      expect(p4.has_more).toBe(true);
      expect(p4.stable_bundle_seq).toBe(2);
    });

    it('target_bundle_seq > latest → 409 checkpoint_ahead; 0 < target < after → 400 invalid_request', async () => {
      const user = await ready('target');
      await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
      await t.pushOk(user, 'dev', 2, [userIns(uuid(2))]);

      expectError(
        await t.pull(user, 'dev', { after_bundle_seq: 0, target_bundle_seq: 3 }),
        409,
        'checkpoint_ahead',
      );
      expectError(
        await t.pull(user, 'dev', { after_bundle_seq: 1, target_bundle_seq: 99 }),
        409,
        'checkpoint_ahead',
      );
      expectError(
        await t.pull(user, 'dev', { after_bundle_seq: 2, target_bundle_seq: 1 }),
        400,
        'invalid_request',
      );
      // Even when both are ahead of the server, target < after is a malformed request.
      expectError(
        await t.pull(user, 'dev', { after_bundle_seq: 9, target_bundle_seq: 8 }),
        400,
        'invalid_request',
      );

      // Boundaries: target = latest, target = after, target 0 (= head).
      const full = ok(await t.pull(user, 'dev', { after_bundle_seq: 0, target_bundle_seq: 2 }));
      expect(full.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([1, 2]);
      expect(ok(await t.pull(user, 'dev', { after_bundle_seq: 1, target_bundle_seq: 1 }))).toEqual({
        stable_bundle_seq: 1,
        bundles: [],
        has_more: false,
      });
      const head = ok(await t.pull(user, 'dev', { after_bundle_seq: 2, target_bundle_seq: 0 }));
      expect(head).toEqual({ stable_bundle_seq: 2, bundles: [], has_more: false });
    });
  });

  describe('retained floor', () => {
    it('setRetainedFloor cannot lower the floor, nor raise it above the latest bundle', async () => {
      const user = await ready('floor');
      for (let i = 1; i <= 3; i++) await t.pushOk(user, 'dev', i, [userIns(uuid(i))]);
      expect(await t.service.setRetainedFloor(user, 2)).toEqual({ found: true, floor: '2' });

      const floorOf = () =>
        count('SELECT retained_bundle_floor::text AS n FROM sync.user_state WHERE user_id = $1', [
          user,
        ]);

      await expect(t.service.setRetainedFloor(user, 1)).rejects.toMatchObject({
        code: 'invalid_request',
      });
      expect(await floorOf()).toBe(2);
      // Bundle 2 is gone, so pulling from 1 must still answer history_pruned (not skip it).
      expectError(await t.pull(user, 'dev', { after_bundle_seq: 1 }), 409, 'history_pruned');

      await expect(t.service.setRetainedFloor(user, 4)).rejects.toMatchObject({
        code: 'invalid_request',
      });
      expect(await floorOf()).toBe(2);
      const page = ok(await t.pull(user, 'dev', { after_bundle_seq: 2 }));
      expect(page.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([3]);

      // Raising it to the latest bundle is allowed.
      expect(await t.service.setRetainedFloor(user, 3)).toEqual({ found: true, floor: '3' });
      expect(await floorOf()).toBe(3);
    });
  });

  describe('snapshots', () => {
    it('a snapshot limit failure rolls back the source replacement of the same request', async () => {
      const user = await ready('limitrollback', t, 'old-src');
      await t.pushOk(user, 'old-src', 1, [
        userIns(uuid(1), 'a'),
        userIns(uuid(2), 'b'),
        userIns(uuid(3), 'c'),
      ]);
      const byRows = await t.withService({
        ...NO_PRUNING,
        limits: { max_rows_per_snapshot_session: 2 },
      });
      const byBytes = await t.withService({
        ...NO_PRUNING,
        limits: { max_bytes_per_snapshot_session: 200 },
      });
      const body = {
        source_replacement: {
          previous_source_id: 'old-src',
          new_source_id: 'new-src',
          reason: 'history_pruned',
        },
      };
      for (const [svc, dimension] of [
        [byRows, 'row_count'],
        [byBytes, 'byte_count'],
      ] as const) {
        const r = await svc.createSnapshot(user, 'old-src', body);
        expectError(r, 409, 'snapshot_session_limit_exceeded');
        expect(r.json.dimension).toBe(dimension);
      }
      const sources = await t.database.query<{ source_id: string; state: string }>(
        `SELECT s.source_id, s.state FROM sync.source_state s JOIN sync.user_state u USING (user_pk)
          WHERE u.user_id = $1 ORDER BY s.source_id`,
        [user],
      );
      expect(sources).toEqual([{ source_id: 'old-src', state: 'active' }]);
      expect(
        await count(
          `SELECT count(*)::text AS n FROM sync.snapshot_sessions s JOIN sync.user_state u USING (user_pk)
            WHERE u.user_id = $1`,
          [user],
        ),
      ).toBe(0);

      // The old source is still usable.
      expect((await t.pushOk(user, 'old-src', 2, [userIns(uuid(4), 'd')])).bundle_seq).toBe(2);
      // It was not retired in favour of new-src: a replacement naming another new source works.
      const other = ok(
        await t.createSnapshot(user, 'old-src', {
          source_replacement: { ...body.source_replacement, new_source_id: 'other-src' },
        }),
      );
      expect(other.row_count).toBe(4);
      // new-src was never reserved, so it can itself be the new source of another rotation.
      const again = await t.createSnapshot(user, 'other-src', {
        source_replacement: {
          previous_source_id: 'other-src',
          new_source_id: 'new-src',
          reason: 'history_pruned',
        },
      });
      expect(again.status, again.text).toBe(200);
    });

    it('chunk with after_row_ordinal > row_count → 400 snapshot_chunk_invalid', async () => {
      const user = await ready('afterbeyond');
      await t.pushOk(user, 'dev', 1, [userIns(uuid(1)), userIns(uuid(2))]);
      const s = ok(await t.createSnapshot(user, 'dev'));
      expect(s.row_count).toBe(2);
      for (const after of [3, 1000]) {
        expectError(
          await t.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: after }),
          400,
          'snapshot_chunk_invalid',
        );
      }
      // after = row_count is the valid end of the snapshot.
      const end = ok(await t.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 2 }));
      expect(end).toMatchObject({ rows: [], next_row_ordinal: 2, has_more: false, byte_count: 0 });
      const last = ok(await t.snapshotChunk(user, 'dev', s.snapshot_id, { after_row_ordinal: 1 }));
      expect(last.rows).toHaveLength(1);
    });
  });

  describe('status counters', () => {
    /** `/syncx/status` of a fresh service instance (aggregates are cached 5 s per instance). */
    async function freshStatus() {
      const fresh = await t.withService(NO_PRUNING);
      return ok(await fresh.req('GET', '/syncx/status'));
    }

    it('history_pruned_error_count, accepted_push_replay_count and committed_bundle_bytes follow the database', async () => {
      const user = await ready('counters');
      const rows = [userIns(uuid(1))];
      await t.pushOk(user, 'dev', 1, rows);
      await t.pushOk(user, 'dev', 2, [userIns(uuid(2))]);
      const before = await freshStatus();

      // One pruned pull.
      await t.service.setRetainedFloor(user, 1);
      expectError(await t.pull(user, 'dev', { after_bundle_seq: 0 }), 409, 'history_pruned');
      // One replay of a retained committed tuple.
      const replay = ok(
        await t.createPush(user, 'dev', {
          source_bundle_id: 2,
          planned_row_count: 1,
          canonical_request_hash: 'a'.repeat(64),
        }),
      );
      expect(replay.status).toBe('already_committed');
      // One new bundle.
      const c3 = await t.pushOk(user, 'dev', 3, [userIns(uuid(3))]);

      const after = await freshStatus();
      expect(after.history_pruned_error_count).toBe(before.history_pruned_error_count + 1);
      expect(after.accepted_push_replay_count).toBe(before.accepted_push_replay_count + 1);

      const bytes = await t.database.query<{ n: string; b: string; own: string }>(
        `SELECT count(*)::text AS n, COALESCE(sum(byte_count), 0)::text AS b,
                (SELECT byte_count::text FROM sync.bundle_log bl JOIN sync.user_state u USING (user_pk)
                  WHERE u.user_id = $1 AND bl.bundle_seq = $2) AS own
           FROM sync.bundle_log`,
        [user, c3.bundle_seq],
      );
      const own = Number(bytes[0]?.own);
      expect(own).toBeGreaterThan(0);
      expect(after.committed_bundle_bytes).toBeGreaterThan(0);
      expect(after.committed_bundle_bytes).toBe(Number(bytes[0]?.b));
      expect(after.committed_bundle_count).toBe(Number(bytes[0]?.n));
      // Bundle 1 was pruned (-1 bundle), bundle 3 was added (+1 bundle).
      expect(after.committed_bundle_count).toBe(before.committed_bundle_count);
    });
  });

  describe('seed lease', () => {
    it('push create, chunk and commit each refresh the lease (10 s TTL, 8 s between steps, commit at 32 s)', async () => {
      const user = uniqueUser('leaserefresh');
      const c = await leaseSvc.connect(user, 'seed', true);
      expect(c.resolution).toBe('initialize_local');
      const leaseMs = () =>
        instantMs(
          `SELECT (extract(epoch FROM lease_expires_at) * 1000)::text AS ms FROM sync.user_state
            WHERE user_id = $1`,
          [user],
        );
      const rows = [userIns(uuid(1), 'seed1'), userIns(uuid(2), 'seed2')];

      leaseClock.advance(8_000);
      const id = await staging(leaseSvc, user, 'seed', 1, rows, c.initialization_id);
      expect(Math.abs((await leaseMs()) - (leaseClock.now().getTime() + 10_000))).toBeLessThan(
        2_000,
      );
      for (const [i, row] of rows.entries()) {
        leaseClock.advance(8_000);
        ok(await leaseSvc.chunk(user, 'seed', id, i, [row]));
        expect(Math.abs((await leaseMs()) - (leaseClock.now().getTime() + 10_000))).toBeLessThan(
          2_000,
        );
      }
      leaseClock.advance(8_000);
      const commit = ok(await leaseSvc.commit(user, 'seed', id));
      expect(commit.bundle_seq).toBe(1);
      expect((await leaseSvc.connect(user, 'other', true)).resolution).toBe('remote_authoritative');

      // Control: a gap longer than the lease TTL after the last refresh loses the lease.
      const user2 = uniqueUser('leaselapse');
      const c2 = await leaseSvc.connect(user2, 'seed', true);
      leaseClock.advance(8_000);
      const id2 = await staging(leaseSvc, user2, 'seed', 1, rows, c2.initialization_id);
      leaseClock.advance(11_000);
      expectError(
        await leaseSvc.chunk(user2, 'seed', id2, 0, rows.slice(0, 1)),
        410,
        'initialization_expired',
      );
    });
  });

  describe('server-side API', () => {
    it('execWrite on an INITIALIZING scope → scope_initializing, and nothing changes', async () => {
      const user = uniqueUser('execinit');
      const c = await t.connect(user, 'seed', true);
      expect(c.resolution).toBe('initialize_local');
      await expect(
        t.service.scopeManager.execWrite(user, { writerId: 'srv' }, (tx) =>
          tx.query(`INSERT INTO business.users (id, name, email) VALUES ($1, 'n', 'e')`, [uuid(1)]),
        ),
      ).rejects.toMatchObject({ code: 'scope_initializing' });
      expect(
        await count('SELECT count(*)::text AS n FROM business.users WHERE _sync_scope_id = $1', [
          user,
        ]),
      ).toBe(0);
      const again = await t.connect(user, 'seed', true);
      expect(again).toMatchObject({
        resolution: 'initialize_local',
        initialization_id: c.initialization_id,
      });
    });

    it('withinSyncBundle needs the exact next source_bundle_id and commits without a bundle when nothing was captured', async () => {
      const user = await ready('within');
      const svc = t.service;
      const insertUser = (n: number) => async (tx: Queryable) => {
        await tx.query(`INSERT INTO business.users (id, name, email) VALUES ($1, 'n', 'e')`, [
          uuid(n),
        ]);
        return n;
      };

      const first = await svc.withinSyncBundle(
        { userId: user, sourceId: 'job', sourceBundleId: 1 },
        insertUser(1),
      );
      expect(first.result).toBe(1);
      expect(first.bundle).toMatchObject({ bundleSeq: '1', sourceId: 'job', sourceBundleId: '1' });

      await expect(
        svc.withinSyncBundle({ userId: user, sourceId: 'job', sourceBundleId: 1 }, insertUser(2)),
      ).rejects.toMatchObject({ code: 'history_pruned' });
      await expect(
        svc.withinSyncBundle({ userId: user, sourceId: 'job', sourceBundleId: 3 }, insertUser(3)),
      ).rejects.toMatchObject({ code: 'source_sequence_out_of_order' });
      expect(await latestSeq(t, user)).toBe(1);

      // Nothing captured: it commits (the unregistered table's write persists) without a bundle.
      const note = `within-${user}`;
      const empty = await svc.withinSyncBundle(
        { userId: user, sourceId: 'job', sourceBundleId: 2 },
        async (tx) => {
          await tx.query('INSERT INTO inv.audit (note) VALUES ($1)', [note]);
          return 'done';
        },
      );
      expect(empty).toEqual({ result: 'done', bundle: null });
      expect(await count('SELECT count(*)::text AS n FROM inv.audit WHERE note = $1', [note])).toBe(
        1,
      );
      expect(await latestSeq(t, user)).toBe(1);

      // No bundle was written, so 2 is still the next source_bundle_id.
      const second = await svc.withinSyncBundle(
        { userId: user, sourceId: 'job', sourceBundleId: 2 },
        insertUser(4),
      );
      expect(second.bundle).toMatchObject({ bundleSeq: '2', sourceBundleId: '2', rowCount: 1 });
      expect(
        await count('SELECT count(*)::text AS n FROM business.users WHERE _sync_scope_id = $1', [
          user,
        ]),
      ).toBe(2);

      // It never auto-initializes.
      await expect(
        svc.withinSyncBundle(
          { userId: uniqueUser('within-uninit'), sourceId: 'job', sourceBundleId: 1 },
          insertUser(5),
        ),
      ).rejects.toMatchObject({ code: 'scope_uninitialized' });
    });

    it('canonical_request_hash is omitted for server-written bundles (committed rows and already_committed)', async () => {
      const user = await ready('nohash');
      await t.service.scopeManager.execWrite(user, { writerId: 'srv-writer' }, (tx) =>
        tx.query(`INSERT INTO business.users (id, name, email) VALUES ($1, 'n', 'e')`, [uuid(1)]),
      );
      const rows = [userIns(uuid(2))];
      const pushed = await t.pushOk(user, 'dev', 1, rows);
      expect(pushed.bundle_seq).toBe(2);

      const server = ok(await t.committedRows(user, 'dev', 1));
      expect(server.source_id).toBe('srv-writer');
      expect(server).not.toHaveProperty('canonical_request_hash');
      const client = ok(await t.committedRows(user, 'dev', 2));
      expect(client.canonical_request_hash).toBe(await canonicalRequestHash(rows));

      const replay = ok(
        await t.createPush(user, 'srv-writer', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: 'a'.repeat(64),
        }),
      );
      expect(replay).toMatchObject({
        status: 'already_committed',
        bundle_seq: 1,
        source_id: 'srv-writer',
        source_bundle_id: 1,
        row_count: 1,
      });
      expect(replay).not.toHaveProperty('canonical_request_hash');
    });
  });

  describe('HTTP plumbing', () => {
    it.each([
      ['DELETE', '/sync/capabilities', 'GET'],
      ['PUT', '/sync/pull', 'GET'],
      ['GET', '/sync/connect', 'POST'],
      ['GET', `/sync/push-sessions/${uuid(1)}/commit`, 'POST'],
      ['POST', `/sync/snapshot-sessions/${uuid(1)}`, 'GET, DELETE'],
      ['POST', '/syncx/health', 'GET'],
    ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
      const r = await t.req(method, path, { user: 'allow-user', source: 'dev' });
      expectError(r, 405, 'method_not_allowed');
      expect(r.headers.get('allow')).toBe(allow);
    });

    it('HEAD on a GET route is served like GET', async () => {
      const caps = await t.req('HEAD', '/sync/capabilities', { user: 'head-user', source: 'dev' });
      expect(caps.status).toBe(200);
      expect(caps.headers.get('content-type') ?? '').toMatch(/^application\/json/);
      const health = await t.req('HEAD', '/syncx/health');
      expect(health.status).toBe(200);
      // Authentication still applies.
      expectError(
        await t.req('HEAD', '/sync/capabilities', { source: 'dev' }),
        401,
        'authentication_failed',
      );
    });

    it('basePath: routes live under the prefix only', async () => {
      const api = await t.withService({ ...NO_PRUNING, basePath: '/api/' });
      const opts = { user: 'base-user', source: 'dev' };
      const caps = await api.req('GET', '/api/sync/capabilities', opts);
      expect(caps.status, caps.text).toBe(200);
      expect(caps.json.protocol_version).toBe('v1');
      expect((await api.req('GET', '/api/syncx/health')).status).toBe(200);
      expectError(await api.req('GET', '/sync/capabilities', opts), 404, 'not_found');
      expectError(await api.req('GET', '/apix/sync/capabilities', opts), 404, 'not_found');
      expectError(await api.req('GET', '/api/api/sync/capabilities', opts), 404, 'not_found');
      // The unprefixed service is unaffected.
      expect((await t.req('GET', '/sync/capabilities', opts)).status).toBe(200);
    });

    it('CORS allow-list: an allowed origin is echoed with Vary: Origin, a foreign origin gets no CORS headers', async () => {
      const listed = await t.withService({
        ...NO_PRUNING,
        cors: { origins: ['https://a.example'] },
      });
      const opts = (origin?: string) => ({
        user: 'cors-user',
        source: 'dev',
        headers: (origin ? { Origin: origin } : {}) as Record<string, string>,
      });
      const allowed = await listed.req('GET', '/sync/capabilities', opts('https://a.example'));
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://a.example');
      expect(allowed.headers.get('vary') ?? '').toMatch(/\bOrigin\b/);
      expect(allowed.headers.get('access-control-allow-methods')).toBe(
        'GET, POST, DELETE, OPTIONS',
      );

      // Errors carry them too.
      const err = await listed.req('GET', '/sync/nope', opts('https://a.example'));
      expect(err.status).toBe(404);
      expect(err.headers.get('access-control-allow-origin')).toBe('https://a.example');

      for (const origin of ['https://b.example', 'https://a.example.evil', undefined]) {
        const r = await listed.req('GET', '/sync/capabilities', opts(origin));
        expect(r.status).toBe(200);
        expect(r.headers.get('access-control-allow-origin'), String(origin)).toBeNull();
        expect(r.headers.get('access-control-allow-methods'), String(origin)).toBeNull();
      }
      const preflight = await listed.req('OPTIONS', '/sync/capabilities', {
        headers: { Origin: 'https://b.example' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const goodPreflight = await listed.req('OPTIONS', '/sync/capabilities', {
        headers: { Origin: 'https://a.example' },
      });
      expect(goodPreflight.status).toBe(204);
      expect(goodPreflight.headers.get('access-control-allow-origin')).toBe('https://a.example');
    });
  });
});
