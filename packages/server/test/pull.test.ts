import {
  BACKENDS,
  del,
  HEX64,
  startTestServer,
  type TestServer,
  uniqueUser,
  upd,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedBundleHash, expectError, keysOf, ok, recomputeBundleHash } from './helpers.js';

describe.each(BACKENDS)('pull [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ backend });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function userWithBundles(label: string, n: number): Promise<string> {
    const user = uniqueUser(label);
    await t.initEmpty(user);
    for (let i = 1; i <= n; i++) await t.pushOk(user, 'dev', i, [userIns(uuid(i), `u${i}`)]);
    return user;
  }

  it('an initialized user without bundles gets an empty page', async () => {
    const user = uniqueUser('empty');
    await t.initEmpty(user);
    expect(ok(await t.pull(user, 'dev', { after_bundle_seq: 0 }))).toEqual({
      stable_bundle_seq: 0,
      bundles: [],
      has_more: false,
    });
    // Defaults: no query at all.
    expect(ok(await t.pull(user, 'dev', {}))).toEqual({
      stable_bundle_seq: 0,
      bundles: [],
      has_more: false,
    });
  });

  it('bundle shape: metadata, complete rows, verifiable bundle_hash', async () => {
    const user = uniqueUser('shape');
    await t.initEmpty(user);
    const commit = await t.pushOk(user, 'dev', 1, [userIns(uuid(1), 'A'), userIns(uuid(2), 'B')]);
    await t.pushOk(user, 'dev', 2, [
      upd('users', uuid(1), { name: 'A2' }, 1),
      del('users', uuid(2), 1),
    ]);
    const page = ok(await t.pull(user, 'other', { after_bundle_seq: 0, max_bundles: 10 }));
    expect(keysOf(page)).toEqual(['bundles', 'has_more', 'stable_bundle_seq']);
    expect(page.stable_bundle_seq).toBe(2);
    expect(page.has_more).toBe(false);
    const [b1, b2] = page.bundles;
    // Exactly the members the clients declare (strict decoders reject unknown members).
    expect(keysOf(b1)).toEqual(['bundle_seq', 'rows', 'source_bundle_id', 'source_id']);
    expect(b1).toMatchObject({ bundle_seq: 1, source_id: 'dev', source_bundle_id: 1 });
    expect(commit.bundle_hash).toMatch(HEX64);
    expect(b1.rows).toHaveLength(2);
    expect(await recomputeBundleHash(b1.rows)).toBe(commit.bundle_hash);
    expect(b2.rows.map((r: { op: string }) => r.op)).toEqual(['UPDATE', 'DELETE']);
    for (const row of b2.rows) {
      expect(row.row_version).toBe(2);
      expect(Object.keys(row).sort()).toEqual(
        row.op === 'DELETE' && !('payload' in row)
          ? ['key', 'op', 'row_version', 'schema', 'table']
          : ['key', 'op', 'payload', 'row_version', 'schema', 'table'],
      );
    }
    expect(b2.rows[1].payload ?? null).toBeNull();
    expect(await recomputeBundleHash(b2.rows)).toBe(await committedBundleHash(t, user, 2));
  });

  it('pages with max_bundles under a frozen target_bundle_seq (echoed as stable_bundle_seq)', async () => {
    const user = await userWithBundles('paging', 5);
    const p1 = ok(await t.pull(user, 'dev', { after_bundle_seq: 0, max_bundles: 2 }));
    expect(p1.stable_bundle_seq).toBe(5);
    expect(p1.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([1, 2]);
    expect(p1.has_more).toBe(true);

    // A commit between pages must not move the frozen ceiling.
    await t.pushOk(user, 'dev', 6, [userIns(uuid(6))]);

    const p2 = ok(
      await t.pull(user, 'dev', { after_bundle_seq: 2, max_bundles: 2, target_bundle_seq: 5 }),
    );
    expect(p2.stable_bundle_seq).toBe(5);
    expect(p2.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([3, 4]);
    expect(p2.has_more).toBe(true);
    const p3 = ok(
      await t.pull(user, 'dev', { after_bundle_seq: 4, max_bundles: 2, target_bundle_seq: 5 }),
    );
    expect(p3.stable_bundle_seq).toBe(5);
    expect(p3.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([5]);
    expect(p3.has_more).toBe(false);
    // At the ceiling: empty page with the same ceiling.
    const p4 = ok(
      await t.pull(user, 'dev', { after_bundle_seq: 5, max_bundles: 2, target_bundle_seq: 5 }),
    );
    expect(p4).toEqual({ stable_bundle_seq: 5, bundles: [], has_more: false });

    // A new run sees bundle 6.
    const fresh = await t.pullAll(user, 'dev', 5);
    expect(fresh.stable).toBe(6);
    expect(fresh.bundles.map((b) => b.bundle_seq)).toEqual([6]);
  });

  it('has_more is exact when the page ends on the last bundle', async () => {
    const user = await userWithBundles('exact', 2);
    const p = ok(await t.pull(user, 'dev', { after_bundle_seq: 0, max_bundles: 2 }));
    expect(p.bundles).toHaveLength(2);
    expect(p.has_more).toBe(false);
  });

  it('history_pruned below the retained floor; from the floor on it pulls normally', async () => {
    const user = await userWithBundles('pruned', 4);
    await t.service.setRetainedFloor(user, 2);
    for (const after of [0, 1]) {
      expectError(await t.pull(user, 'dev', { after_bundle_seq: after }), 409, 'history_pruned');
    }
    // A checkpoint at the floor still has every later bundle available.
    const p2 = ok(await t.pull(user, 'dev', { after_bundle_seq: 2 }));
    expect(p2.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([3, 4]);
    const p = ok(await t.pull(user, 'dev', { after_bundle_seq: 3 }));
    expect(p.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([4]);
  });

  it('checkpoint_ahead when after_bundle_seq exceeds the latest bundle (fixture message shape)', async () => {
    const user = await userWithBundles('ahead', 3);
    const r = await t.pull(user, 'dev', { after_bundle_seq: 99 });
    expectError(r, 409, 'checkpoint_ahead');
    expect(r.json.message).toBe(
      'requested checkpoint 99 is ahead of current committed bundle sequence 3',
    );
    expectError(await t.pull(user, 'dev', { after_bundle_seq: 4 }), 409, 'checkpoint_ahead');
    // Exactly at the latest: an empty page, not an error.
    expect(ok(await t.pull(user, 'dev', { after_bundle_seq: 3 }))).toEqual({
      stable_bundle_seq: 3,
      bundles: [],
      has_more: false,
    });
    // A user with no bundles at all is ahead with any positive checkpoint.
    const empty = uniqueUser('ahead0');
    await t.initEmpty(empty);
    const r0 = await t.pull(empty, 'dev', { after_bundle_seq: 1 });
    expectError(r0, 409, 'checkpoint_ahead');
    expect(r0.json.message).toBe(
      'requested checkpoint 1 is ahead of current committed bundle sequence 0',
    );
  });

  it.each([
    ['max_bundles=0', { max_bundles: '0' }],
    ['max_bundles=5001', { max_bundles: '5001' }],
    ['max_bundles=abc', { max_bundles: 'abc' }],
    ['max_bundles=1.5', { max_bundles: '1.5' }],
    ['after_bundle_seq=-1', { after_bundle_seq: '-1' }],
    ['after_bundle_seq=x', { after_bundle_seq: 'x' }],
    ['after_bundle_seq=1e3', { after_bundle_seq: '1e3' }],
    ['target_bundle_seq=-1', { target_bundle_seq: '-1' }],
    ['target_bundle_seq=abc', { target_bundle_seq: 'abc' }],
  ])('%s → 400 invalid_request', async (_name, query) => {
    const user = await userWithBundles('badq', 1);
    expectError(
      await t.pull(user, 'dev', { after_bundle_seq: '0', ...query }),
      400,
      'invalid_request',
    );
  });

  it('max_bundles at the bounds (1 and 5000) is accepted', async () => {
    const user = await userWithBundles('bounds', 2);
    expect(ok(await t.pull(user, 'dev', { max_bundles: 1 })).bundles).toHaveLength(1);
    expect(ok(await t.pull(user, 'dev', { max_bundles: 5000 })).bundles).toHaveLength(2);
  });

  it('409 scope_uninitialized for a user that never connected', async () => {
    expectError(
      await t.pull(uniqueUser('never'), 'dev', { after_bundle_seq: 0 }),
      409,
      'scope_uninitialized',
    );
  });

  it('bundles from every source of the user are pulled in bundle_seq order', async () => {
    const user = uniqueUser('sources');
    await t.initEmpty(user);
    await t.pushOk(user, 'phone', 1, [userIns(uuid(1))]);
    await t.pushOk(user, 'laptop', 1, [userIns(uuid(2))]);
    await t.pushOk(user, 'phone', 2, [userIns(uuid(3))]);
    const all = await t.pullAll(user, 'tablet', 0, 1);
    expect(all.bundles.map((b) => [b.bundle_seq, b.source_id, b.source_bundle_id])).toEqual([
      [1, 'phone', 1],
      [2, 'laptop', 1],
      [3, 'phone', 2],
    ]);
    expect(all.pages).toHaveLength(3);
  });

  it('the retention job moves the floor: old history answers history_pruned everywhere', async () => {
    const keep2 = await t.withService({
      retention: { retainedBundlesPerUser: 2, pruneIntervalMs: 0 },
    });
    const user = uniqueUser('retention');
    await keep2.initEmpty(user);
    for (let i = 1; i <= 5; i++) await keep2.pushOk(user, 'dev', i, [userIns(uuid(i))]);
    await keep2.service.pruneHistory();
    expectError(await keep2.pull(user, 'dev', { after_bundle_seq: 1 }), 409, 'history_pruned');
    const p = ok(await keep2.pull(user, 'dev', { after_bundle_seq: 3 }));
    expect(p.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([4, 5]);
    expectError(await keep2.committedRows(user, 'dev', 3), 409, 'history_pruned');
    expect(ok(await keep2.committedRows(user, 'dev', 4)).rows).toHaveLength(1);
    expectError(
      await keep2.createPush(user, 'dev', {
        source_bundle_id: 2,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
      }),
      409,
      'history_pruned',
    );
    const again = ok(
      await keep2.createPush(user, 'dev', {
        source_bundle_id: 5,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
      }),
    );
    expect(again.status).toBe('already_committed');
    // The snapshot still has every live row.
    expect((await keep2.snapshotAll(user, 'dev')).rows).toHaveLength(5);
  });
});
