import {
  BACKENDS,
  type PushResult,
  startTestServer,
  type TestServer,
  uniqueUser,
  upd,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedBundleHash, ok, recomputeBundleHash } from './helpers.js';

function statuses(r: PushResult): number[] {
  return [r.create.status, ...r.chunks.map((c) => c.status), r.commit?.status ?? 0];
}

describe.each(BACKENDS)('concurrency [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ backend });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('two sources of one user pushing disjoint rows concurrently both commit with gap-free seqs', async () => {
    const user = uniqueUser('twosrc');
    await t.initEmpty(user);
    const rowsA = Array.from({ length: 20 }, (_, i) => userIns(uuid(i + 1), `a${i}`));
    const rowsB = Array.from({ length: 20 }, (_, i) => userIns(uuid(i + 101), `b${i}`));
    const [ra, rb] = await Promise.all([
      t.pushBundle(user, 'phone', 1, rowsA, { chunkSize: 5 }),
      t.pushBundle(user, 'laptop', 1, rowsB, { chunkSize: 5 }),
    ]);
    expect(
      statuses(ra).every((s) => s === 200),
      statuses(ra).join(),
    ).toBe(true);
    expect(
      statuses(rb).every((s) => s === 200),
      statuses(rb).join(),
    ).toBe(true);
    const seqs = [ra.commit?.json.bundle_seq, rb.commit?.json.bundle_seq].sort();
    expect(seqs).toEqual([1, 2]);
    const pulled = await t.pullAll(user, 'tablet');
    expect(pulled.bundles.map((b) => b.bundle_seq)).toEqual([1, 2]);
    for (const b of pulled.bundles) {
      expect(b.rows).toHaveLength(20);
      expect(await recomputeBundleHash(b.rows)).toBe(
        await committedBundleHash(t, user, b.bundle_seq),
      );
    }
  });

  it('two sources racing on the same rows: one commits, the other gets a structured conflict (never 5xx)', async () => {
    const user = uniqueUser('race');
    await t.initEmpty(user);
    await t.pushOk(user, 'seed', 1, [userIns(uuid(1), 'base')]);
    const attempts = await Promise.all(
      ['s1', 's2', 's3', 's4'].map((s) =>
        t.pushBundle(user, s, 1, [upd('users', uuid(1), { name: `by-${s}` }, 1)]),
      ),
    );
    const commits = attempts.map((a) => a.commit);
    for (const a of attempts) {
      for (const s of statuses(a)) expect(s).toBeLessThan(500);
    }
    const winners = commits.filter((c) => c?.status === 200);
    const losers = commits.filter((c) => c?.status === 409);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(3);
    for (const l of losers) {
      expect(l?.json.error).toBe('push_conflict');
      expect(l?.json.conflict).toMatchObject({
        key: { id: uuid(1) },
        op: 'UPDATE',
        base_row_version: 1,
        server_row_version: 2,
        server_row_deleted: false,
      });
      expect(l?.json.conflict.server_row.name).toBe(
        winners[0]?.json && `by-${winners[0].json.source_id}`,
      );
    }
    const pulled = await t.pullAll(user, 'probe');
    expect(pulled.bundles.map((b) => b.bundle_seq)).toEqual([1, 2]);
  });

  it('concurrent inserts of the same new key: exactly one wins', async () => {
    const user = uniqueUser('insrace');
    await t.initEmpty(user);
    const attempts = await Promise.all(
      ['x1', 'x2', 'x3'].map((s) => t.pushBundle(user, s, 1, [userIns(uuid(7), s)])),
    );
    const codes = attempts.map((a) => a.commit?.status);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(2);
    for (const a of attempts)
      if (a.commit?.status === 409) expect(a.commit.json.error).toBe('push_conflict');
  });

  it('one source pushing several bundles back-to-back keeps source and bundle order', async () => {
    const user = uniqueUser('serial');
    await t.initEmpty(user);
    for (let i = 1; i <= 5; i++) {
      const c = await t.pushOk(user, 'dev', i, [userIns(uuid(i))]);
      expect(c).toMatchObject({ bundle_seq: i, source_bundle_id: i });
    }
  });

  it('50 users pushing at once: all succeed and every user starts at bundle_seq 1', async () => {
    const users = Array.from({ length: 50 }, () => uniqueUser('crowd'));
    const results = await Promise.all(
      users.map(async (user, i) => {
        const c = await t.connect(user, `dev-${i}`, true);
        expect(c.resolution).toBe('initialize_local');
        const first = await t.pushOk(
          user,
          `dev-${i}`,
          1,
          [userIns(uuid(1), `u${i}`), userIns(uuid(2))],
          {
            initializationId: c.initialization_id,
          },
        );
        const second = await t.pushOk(user, `dev-${i}`, 2, [
          upd('users', uuid(1), { name: `v2-${i}` }, 1),
        ]);
        return [first.bundle_seq, second.bundle_seq];
      }),
    );
    expect(results).toEqual(users.map(() => [1, 2]));
    // Spot-check isolation under load.
    const snap = await t.snapshotAll(users[17] as string, 'probe');
    expect(snap.rows.map((r) => r.payload.name).sort()).toEqual(['name-0002', 'v2-17']);
    expect(
      ok(await t.pull(users[3] as string, 'probe', { after_bundle_seq: 0 })).stable_bundle_seq,
    ).toBe(2);
  });
});
