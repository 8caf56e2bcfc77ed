import {
  BACKENDS,
  canonicalRequestHash,
  del,
  startTestServer,
  type TestServer,
  uniqueUser,
  upd,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok } from './helpers.js';

describe.each(BACKENDS)('user isolation [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ backend });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function pair(label: string): Promise<[string, string]> {
    const a = uniqueUser(`${label}-a`);
    const b = uniqueUser(`${label}-b`);
    await t.initEmpty(a);
    await t.initEmpty(b);
    return [a, b];
  }

  it('the same row key in two users is two separate rows, each with its own versions', async () => {
    const [a, b] = await pair('samekey');
    const ca = await t.pushOk(a, 'dev', 1, [userIns(uuid(1), 'Alice')]);
    const cb = await t.pushOk(b, 'dev', 1, [userIns(uuid(1), 'Bob')]);
    expect([ca.bundle_seq, cb.bundle_seq]).toEqual([1, 1]);
    // B updates and deletes "its" uuid(1): A's row is untouched.
    await t.pushOk(b, 'dev', 2, [upd('users', uuid(1), { name: 'Bob2' }, 1)]);
    await t.pushOk(b, 'dev', 3, [del('users', uuid(1), 2)]);
    const sa = await t.snapshotAll(a, 'dev');
    expect(sa.rows.map((r) => [r.key.id, r.payload.name, r.row_version])).toEqual([
      [uuid(1), 'Alice', 1],
    ]);
    const sb = await t.snapshotAll(b, 'dev');
    expect(sb.rows).toEqual([]);
    const pa = await t.pullAll(a, 'dev');
    expect(pa.bundles.map((x) => x.bundle_seq)).toEqual([1]);
    expect(pa.bundles[0].rows[0].payload.name).toBe('Alice');
    const pb = await t.pullAll(b, 'dev');
    expect(pb.bundles.map((x) => x.bundle_seq)).toEqual([1, 2, 3]);
    // A can still update with its own version 1 (B's versions did not leak into A's row state).
    await t.pushOk(a, 'dev', 2, [upd('users', uuid(1), { name: 'Alice2' }, 1)]);
  });

  it("B cannot use A's push_id, snapshot_id or bundle_seq", async () => {
    const [a, b] = await pair('forged');
    await t.pushOk(a, 'dev', 1, [userIns(uuid(1), 'A1')]);
    await t.pushOk(a, 'dev', 2, [userIns(uuid(2), 'A2')]);
    const rows = [userIns(uuid(3), 'A3')];
    const create = ok(
      await t.createPush(a, 'dev', {
        source_bundle_id: 3,
        planned_row_count: 1,
        canonical_request_hash: await canonicalRequestHash(rows),
      }),
    );
    const pushId = create.push_id;
    expectError(await t.chunk(b, 'dev', pushId, 0, rows), 403, 'push_session_forbidden');
    expectError(await t.commit(b, 'dev', pushId), 403, 'push_session_forbidden');
    expectError(await t.deletePush(b, 'dev', pushId), 403, 'push_session_forbidden');

    const snap = ok(await t.createSnapshot(a, 'dev'));
    const q = { after_row_ordinal: 0, max_rows: 100, max_bytes: 1_000_000 };
    expectError(
      await t.snapshotChunk(b, 'dev', snap.snapshot_id, q),
      403,
      'snapshot_session_forbidden',
    );
    expectError(
      await t.deleteSnapshot(b, 'dev', snap.snapshot_id),
      403,
      'snapshot_session_forbidden',
    );

    for (const seq of [1, 2]) {
      expectError(await t.committedRows(b, 'dev', seq), 404, 'committed_bundle_not_found');
    }
    // A's session and snapshot still work.
    ok(await t.chunk(a, 'dev', pushId, 0, rows));
    expect(ok(await t.commit(a, 'dev', pushId)).bundle_seq).toBe(3);
    expect(ok(await t.snapshotChunk(a, 'dev', snap.snapshot_id, q)).rows).toHaveLength(2);
  });

  it("B's pull, snapshot and conflicts never show A's data", async () => {
    const [a, b] = await pair('noleak');
    await t.pushOk(a, 'secret-src', 1, [userIns(uuid(1), 'Secret'), userIns(uuid(2), 'Secret2')]);
    const pb = ok(await t.pull(b, 'dev', { after_bundle_seq: 0 }));
    expect(pb).toEqual({ stable_bundle_seq: 0, bundles: [], has_more: false });
    expect((await t.snapshotAll(b, 'dev')).rows).toEqual([]);
    // B's UPDATE of A's key conflicts as "row does not exist" and shows no server row.
    const res = await t.pushBundle(b, 'dev', 1, [upd('users', uuid(1), { name: 'hijack' }, 1)]);
    expectError(res.commit as never, 409, 'push_conflict');
    expect(res.commit?.json.conflict).toMatchObject({
      server_row_version: 0,
      server_row_deleted: false,
      server_row: null,
    });
    // B's DELETE of A's key also conflicts; A's row survives.
    const res2 = await t.pushBundle(b, 'dev', 1, [del('users', uuid(2), 1)]);
    expectError(res2.commit as never, 409, 'push_conflict');
    const sa = await t.snapshotAll(a, 'dev');
    expect(sa.rows.map((r) => r.payload.name).sort()).toEqual(['Secret', 'Secret2']);
  });

  it('scope state is per user: initializing A does not affect B', async () => {
    const a = uniqueUser('scope-a');
    const b = uniqueUser('scope-b');
    const ca = await t.connect(a, 'dev', true);
    expect(ca.resolution).toBe('initialize_local');
    const cb = await t.connect(b, 'dev', true);
    expect(cb.resolution).toBe('initialize_local');
    expect(cb.initialization_id).not.toBe(ca.initialization_id);
    // B's seed with A's initialization id is stale.
    expectError(
      await t.createPush(b, 'dev', {
        source_bundle_id: 1,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
        initialization_id: ca.initialization_id,
      }),
      409,
      'initialization_stale',
    );
  });

  it('source sequences are per user: the same source id restarts at 1 for another user', async () => {
    const [a, b] = await pair('srcseq');
    await t.pushOk(a, 'shared-src', 1, [userIns(uuid(1))]);
    await t.pushOk(a, 'shared-src', 2, [userIns(uuid(2))]);
    const cb = await t.pushOk(b, 'shared-src', 1, [userIns(uuid(1))]);
    expect(cb).toMatchObject({ bundle_seq: 1, source_bundle_id: 1 });
    // Retiring the source for A does not retire it for B.
    ok(
      await t.createSnapshot(a, 'shared-src', {
        source_replacement: {
          previous_source_id: 'shared-src',
          new_source_id: 'a-new',
          reason: 'source_retired',
        },
      }),
    );
    expect((await t.pushOk(b, 'shared-src', 2, [userIns(uuid(2))])).bundle_seq).toBe(2);
  });
});
