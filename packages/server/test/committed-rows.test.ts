import {
  BACKENDS,
  canonicalRequestHash,
  startTestServer,
  type TestServer,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, keysOf, ok, recomputeBundleHash } from './helpers.js';

describe.each(BACKENDS)('committed bundle rows [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ backend });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A user whose bundle 1 has five rows (keys uuid(1..5) in upload order). */
  async function fiveRowBundle(label: string) {
    const user = uniqueUser(label);
    await t.initEmpty(user);
    const rows = [1, 2, 3, 4, 5].map((n) => userIns(uuid(n), `r${n}`));
    const commit = await t.pushOk(user, 'dev', 1, rows);
    return { user, rows, commit, hash: await canonicalRequestHash(rows) };
  }

  it('pages with after_row_ordinal / max_rows; next_row_ordinal is the last returned 0-based ordinal', async () => {
    const { user, commit, hash } = await fiveRowBundle('paging');
    const meta = {
      bundle_seq: 1,
      source_id: 'dev',
      source_bundle_id: 1,
      row_count: 5,
      bundle_hash: commit.bundle_hash,
      canonical_request_hash: hash,
    };
    const p1 = ok(await t.committedRows(user, 'other-src', 1, { max_rows: 2 }));
    expect(keysOf(p1)).toEqual(
      [...Object.keys(meta), 'rows', 'next_row_ordinal', 'has_more'].sort(),
    );
    expect(p1).toMatchObject({ ...meta, next_row_ordinal: 1, has_more: true });
    expect(p1.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual([uuid(1), uuid(2)]);

    const p2 = ok(await t.committedRows(user, 'dev', 1, { after_row_ordinal: 1, max_rows: 2 }));
    expect(p2).toMatchObject({ ...meta, next_row_ordinal: 3, has_more: true });
    expect(p2.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual([uuid(3), uuid(4)]);

    const p3 = ok(await t.committedRows(user, 'dev', 1, { after_row_ordinal: 3, max_rows: 2 }));
    expect(p3).toMatchObject({ ...meta, next_row_ordinal: 4, has_more: false });
    expect(p3.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual([uuid(5)]);

    // Past the end: empty page echoing after_row_ordinal.
    const p4 = ok(await t.committedRows(user, 'dev', 1, { after_row_ordinal: 4, max_rows: 2 }));
    expect(p4).toMatchObject({ ...meta, rows: [], next_row_ordinal: 4, has_more: false });

    const all = [...p1.rows, ...p2.rows, ...p3.rows];
    expect(all.every((r) => r.row_version === 1)).toBe(true);
    expect(await recomputeBundleHash(all)).toBe(commit.bundle_hash);
  });

  it('a 1200-row bundle pages in 500-row pages and the concatenation verifies bundle_hash', async () => {
    const user = uniqueUser('large');
    await t.initEmpty(user);
    const rows = Array.from({ length: 1200 }, (_, i) => userIns(uuid(i + 1), `bulk-${i}`));
    const commit = await t.pushOk(user, 'dev', 1, rows, { chunkSize: 500 });
    expect(commit.row_count).toBe(1200);
    const all = await t.committedRowsAll(user, 'dev', 1, 500);
    expect(all.pages.map((p) => [p.rows.length, p.next_row_ordinal, p.has_more])).toEqual([
      [500, 499, true],
      [500, 999, true],
      [200, 1199, false],
    ]);
    expect(all.rows.map((r) => r.key.id)).toEqual(rows.map((r) => r.key.id));
    expect(await recomputeBundleHash(all.rows)).toBe(commit.bundle_hash);
  });

  it('without query parameters returns the whole bundle from the start', async () => {
    const { user, commit } = await fiveRowBundle('whole');
    const p = ok(await t.committedRows(user, 'dev', 1));
    expect(p.rows).toHaveLength(5);
    expect(p.next_row_ordinal).toBe(4);
    expect(p.has_more).toBe(false);
    expect(await recomputeBundleHash(p.rows)).toBe(commit.bundle_hash);
  });

  it('a huge max_rows is capped, not rejected', async () => {
    const { user } = await fiveRowBundle('cap');
    const p = ok(await t.committedRows(user, 'dev', 1, { max_rows: 999_999 }));
    expect(p.rows).toHaveLength(5);
  });

  it('unknown bundle_seq → 404 committed_bundle_not_found', async () => {
    const { user } = await fiveRowBundle('missing');
    expectError(await t.committedRows(user, 'dev', 2), 404, 'committed_bundle_not_found');
    expectError(await t.committedRows(user, 'dev', 999_999), 404, 'committed_bundle_not_found');
  });

  it("another user's bundle_seq → 404 committed_bundle_not_found", async () => {
    const owner = await fiveRowBundle('owner');
    await t.pushOk(owner.user, 'dev', 2, [userIns(uuid(9))]);
    const other = uniqueUser('other');
    await t.initEmpty(other);
    await t.pushOk(other, 'dev', 1, [userIns(uuid(1), 'mine')]);
    expectError(await t.committedRows(other, 'dev', 2), 404, 'committed_bundle_not_found');
    // The other user's bundle 1 is their own, not the owner's.
    const mine = ok(await t.committedRows(other, 'dev', 1));
    expect(mine.rows.map((r: { payload: { name: string } }) => r.payload.name)).toEqual(['mine']);
    expect(mine.row_count).toBe(1);
  });

  it('a bundle at or below the retained floor → 409 history_pruned', async () => {
    const { user } = await fiveRowBundle('pruned');
    await t.pushOk(user, 'dev', 2, [userIns(uuid(9))]);
    await t.service.setRetainedFloor(user, 1);
    expectError(await t.committedRows(user, 'dev', 1), 409, 'history_pruned');
    expect(ok(await t.committedRows(user, 'dev', 2)).rows).toHaveLength(1);
  });

  it.each([
    ['bundle_seq 0', '0', {}],
    ['bundle_seq -1', '-1', {}],
    ['bundle_seq abc', 'abc', {}],
    ['bundle_seq 1.5', '1.5', {}],
    ['after_row_ordinal -2', '1', { after_row_ordinal: '-2' }],
    ['after_row_ordinal x', '1', { after_row_ordinal: 'x' }],
    ['max_rows 0', '1', { max_rows: '0' }],
    ['max_rows -1', '1', { max_rows: '-1' }],
    ['max_rows abc', '1', { max_rows: 'abc' }],
  ])('%s → 400 committed_bundle_chunk_invalid', async (_name, seq, query) => {
    const { user } = await fiveRowBundle('invalid');
    expectError(
      await t.committedRows(user, 'dev', seq, query as Record<string, string>),
      400,
      'committed_bundle_chunk_invalid',
    );
  });

  it('409 scope_uninitialized or 404 for a user that never connected (never 5xx)', async () => {
    const r = await t.committedRows(uniqueUser('never'), 'dev', 1);
    expect([404, 409]).toContain(r.status);
  });
});
