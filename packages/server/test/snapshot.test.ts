import { snapshotRowByteCount } from '@oversync/protocol';
import {
  BACKENDS,
  del,
  ins,
  RFC3339_RE,
  startTestServer,
  type TestClient,
  type TestServer,
  UUID_RE,
  uniqueUser,
  upd,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, keysOf, ok, TestClock } from './helpers.js';

const CHUNK_KEYS = [
  'byte_count',
  'has_more',
  'next_row_ordinal',
  'rows',
  'snapshot_bundle_seq',
  'snapshot_id',
];
const ROW_KEYS = ['key', 'payload', 'row_version', 'schema', 'table'];
const SESSION_KEYS = [
  'byte_count',
  'expires_at',
  'row_count',
  'snapshot_bundle_seq',
  'snapshot_id',
];

describe.each(BACKENDS)('snapshot [%s]', (backend) => {
  let t: TestServer;
  let limited: TestClient;
  let buildCap: TestClient;
  let chunkCap: TestClient;
  let timed: TestClient;
  const clock = new TestClock();

  beforeAll(async () => {
    t = await startTestServer({ backend });
    limited = await t.withService({ limits: { max_rows_per_snapshot_session: 2 } });
    buildCap = await t.withService({ limits: { max_concurrent_snapshot_builds: 1 } });
    chunkCap = await t.withService({
      limits: { max_concurrent_snapshot_chunk_requests: 1 },
    });
    timed = await t.withService({ now: clock.now });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A user with five users rows (names n1..n5) committed in bundles 1..2. */
  async function fiveRows(label: string, c: TestClient = t): Promise<string> {
    const user = uniqueUser(label);
    await c.initEmpty(user);
    await c.pushOk(
      user,
      'dev',
      1,
      [1, 2, 3].map((n) => userIns(uuid(n), `n${n}`)),
    );
    await c.pushOk(
      user,
      'dev',
      2,
      [4, 5].map((n) => userIns(uuid(n), `n${n}`)),
    );
    return user;
  }

  it('session and chunk shapes; row_version is the last bundle that touched each row', async () => {
    const user = uniqueUser('shape');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [
      userIns(uuid(1), 'a'),
      userIns(uuid(2), 'b'),
      userIns(uuid(3), 'c'),
    ]);
    await t.pushOk(user, 'dev', 2, [
      upd('users', uuid(2), { name: 'b2' }, 1),
      del('users', uuid(3), 1),
    ]);
    await t.pushOk(user, 'dev', 3, [ins('categories', uuid(10), { name: 'cat' })]);

    const s = ok(await t.createSnapshot(user, 'dev'));
    expect(keysOf(s)).toEqual(SESSION_KEYS);
    expect(s.snapshot_id).toMatch(UUID_RE);
    expect(s.snapshot_bundle_seq).toBe(3);
    expect(s.row_count).toBe(3);
    expect(s.expires_at).toMatch(RFC3339_RE);
    expect(Date.parse(s.expires_at)).toBeGreaterThan(Date.now());

    const c = ok(
      await t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 100,
        max_bytes: 1_000_000,
      }),
    );
    expect(keysOf(c)).toEqual(CHUNK_KEYS);
    expect(c.snapshot_id).toBe(s.snapshot_id);
    expect(c.snapshot_bundle_seq).toBe(3);
    expect(c.has_more).toBe(false);
    expect(c.next_row_ordinal).toBe(3);
    for (const row of c.rows) {
      expect(keysOf(row)).toEqual(ROW_KEYS);
      expect(row.payload).not.toHaveProperty('_sync_scope_id');
    }
    const versions = Object.fromEntries(
      c.rows.map((r: { table: string; key: { id: string }; row_version: number }) => [
        `${r.table}:${r.key.id}`,
        r.row_version,
      ]),
    );
    expect(versions).toEqual({
      [`users:${uuid(1)}`]: 1,
      [`users:${uuid(2)}`]: 2,
      [`categories:${uuid(10)}`]: 3,
    });
    expect(c.byte_count).toBe(s.byte_count);
  });

  it('is frozen at creation: later commits are invisible to its chunks', async () => {
    const user = await fiveRows('frozen');
    const s = ok(await t.createSnapshot(user, 'dev'));
    await t.pushOk(user, 'dev', 3, [
      userIns(uuid(6), 'late'),
      upd('users', uuid(1), { name: 'changed' }, 1),
    ]);
    await t.pushOk(user, 'dev', 4, [del('users', uuid(2), 1)]);
    const rows = [];
    let after = 0;
    for (;;) {
      const c = ok(
        await t.snapshotChunk(user, 'dev', s.snapshot_id, {
          after_row_ordinal: after,
          max_rows: 2,
          max_bytes: 1_000_000,
        }),
      );
      expect(c.snapshot_bundle_seq).toBe(2);
      rows.push(...c.rows);
      after = c.next_row_ordinal;
      if (!c.has_more) break;
    }
    expect(rows.map((r) => r.payload.name).sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    // A new snapshot sees the new state.
    const fresh = await t.snapshotAll(user, 'dev');
    expect(fresh.session.snapshot_bundle_seq).toBe(4);
    expect(fresh.rows.map((r) => r.payload.name).sort()).toEqual([
      'changed',
      'late',
      'n3',
      'n4',
      'n5',
    ]);
  });

  it('pages by max_rows with a 1-based exclusive after_row_ordinal', async () => {
    const user = await fiveRows('rows');
    const all = await t.snapshotAll(user, 'dev', { maxRows: 100 });
    const order = all.rows.map((r) => r.key.id);
    expect(order).toHaveLength(5);
    const s = ok(await t.createSnapshot(user, 'dev'));
    const q = (after: number) =>
      t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: after,
        max_rows: 2,
        max_bytes: 1_000_000,
      });
    const c1 = ok(await q(0));
    expect(c1.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual(order.slice(0, 2));
    expect([c1.next_row_ordinal, c1.has_more]).toEqual([2, true]);
    const c2 = ok(await q(2));
    expect(c2.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual(order.slice(2, 4));
    expect([c2.next_row_ordinal, c2.has_more]).toEqual([4, true]);
    const c3 = ok(await q(4));
    expect(c3.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual(order.slice(4));
    expect([c3.next_row_ordinal, c3.has_more]).toEqual([5, false]);
    // Any cursor works (re-reading is allowed), and past the end is an empty chunk.
    const c4 = ok(await q(3));
    expect(c4.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual(order.slice(3, 5));
    const end = ok(await q(5));
    expect(end).toMatchObject({ rows: [], next_row_ordinal: 5, has_more: false, byte_count: 0 });
  });

  it('byte_count: per row snapshotRowByteCount, chunk = sum of rows, session = sum of chunks', async () => {
    const user = await fiveRows('bytes');
    const all = await t.snapshotAll(user, 'dev', { maxRows: 2 });
    expect(all.chunks).toHaveLength(3);
    let total = 0;
    for (const c of all.chunks) {
      const sum = c.rows.reduce((acc: number, r: never) => acc + snapshotRowByteCount(r), 0);
      expect(c.byte_count).toBe(sum);
      total += c.byte_count;
    }
    expect(all.session.byte_count).toBe(total);
    expect(all.session.row_count).toBe(5);
  });

  it('pages by max_bytes: no chunk exceeds max_bytes, every chunk is as full as allowed', async () => {
    const user = await fiveRows('maxbytes');
    const all = await t.snapshotAll(user, 'dev', { maxRows: 100 });
    const sizes = all.rows.map((r) => snapshotRowByteCount(r));
    const budget = (sizes[0] as number) + (sizes[1] as number) + 1; // exactly two rows fit
    const paged = await t.snapshotAll(user, 'dev', { maxRows: 100, maxBytes: budget });
    expect(paged.rows.map((r) => r.key.id)).toEqual(all.rows.map((r) => r.key.id));
    for (const c of paged.chunks) {
      expect(c.byte_count).toBeLessThanOrEqual(budget);
      expect(c.rows.length).toBeGreaterThan(0);
    }
    expect(paged.chunks[0].rows).toHaveLength(2);
    expect(paged.chunks.length).toBeGreaterThanOrEqual(3);
    expect(paged.chunks.reduce((a, c) => a + c.byte_count, 0)).toBe(paged.session.byte_count);
  });

  it('400 snapshot_chunk_too_small with required_byte_count when the next row does not fit', async () => {
    const user = await fiveRows('toosmall');
    const s = ok(await t.createSnapshot(user, 'dev'));
    const first = ok(
      await t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 1,
        max_bytes: 1_000_000,
      }),
    );
    const need = snapshotRowByteCount(first.rows[0]);
    const r = await t.snapshotChunk(user, 'dev', s.snapshot_id, {
      after_row_ordinal: 0,
      max_rows: 10,
      max_bytes: need - 1,
    });
    expectError(r, 400, 'snapshot_chunk_too_small');
    expect(r.json.required_byte_count).toBe(need);
    expect(r.json.required_byte_count).toBeGreaterThan(need - 1);
    // Exactly the row size is enough.
    const exact = ok(
      await t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 10,
        max_bytes: need,
      }),
    );
    expect(exact.rows).toHaveLength(1);
  });

  it('409 snapshot_session_limit_exceeded (row_count) with dimension/actual/limit', async () => {
    const user = uniqueUser('limit');
    await limited.initEmpty(user);
    await limited.pushOk(
      user,
      'dev',
      1,
      [1, 2, 3].map((n) => userIns(uuid(n))),
    );
    const r = await limited.createSnapshot(user, 'dev');
    expectError(r, 409, 'snapshot_session_limit_exceeded');
    expect(r.json).toMatchObject({ dimension: 'row_count', actual: 3, limit: 2 });
    // Under the limit it works.
    await limited.pushOk(user, 'dev', 2, [del('users', uuid(3), 1)]);
    expect(ok(await limited.createSnapshot(user, 'dev')).row_count).toBe(2);
  });

  it('429 snapshot_build_capacity with Retry-After when builds exceed max_concurrent_snapshot_builds', async () => {
    const users = await Promise.all([1, 2, 3].map(() => fiveRows('buildcap', buildCap)));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => buildCap.createSnapshot(users[i % 3] as string, 'dev')),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.every((s) => s === 200 || s === 429),
      statuses.join(','),
    ).toBe(true);
    const rejected = results.filter((r) => r.status === 429);
    expect(rejected.length, statuses.join(',')).toBeGreaterThan(0);
    for (const r of rejected) {
      expectError(r, 429, 'snapshot_build_capacity');
      expect(r.headers.get('retry-after') ?? '').toMatch(/^[1-9][0-9]*$/);
    }
    expect(statuses).toContain(200);
  });

  it('429 snapshot_chunk_capacity with Retry-After when chunk reads exceed the limit', async () => {
    const user = await fiveRows('chunkcap', chunkCap);
    const s = ok(await chunkCap.createSnapshot(user, 'dev'));
    const results = await Promise.all(
      Array.from({ length: 16 }, () =>
        chunkCap.snapshotChunk(user, 'dev', s.snapshot_id, {
          after_row_ordinal: 0,
          max_rows: 5,
          max_bytes: 1_000_000,
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(
      statuses.every((st) => st === 200 || st === 429),
      statuses.join(','),
    ).toBe(true);
    const rejected = results.filter((r) => r.status === 429);
    expect(rejected.length, statuses.join(',')).toBeGreaterThan(0);
    for (const r of rejected) {
      expectError(r, 429, 'snapshot_chunk_capacity');
      expect(r.headers.get('retry-after') ?? '').toMatch(/^[1-9][0-9]*$/);
    }
  });

  it.each([
    ['unknown UUID', uuid(424242)],
    ['non-UUID', 'not-a-uuid'],
  ])('%s snapshot_id → 404 snapshot_session_not_found on chunk and delete', async (_n, id) => {
    const user = await fiveRows('nf');
    expectError(
      await t.snapshotChunk(user, 'dev', id, {
        after_row_ordinal: 0,
        max_rows: 1,
        max_bytes: 1000,
      }),
      404,
      'snapshot_session_not_found',
    );
    expectError(await t.deleteSnapshot(user, 'dev', id), 404, 'snapshot_session_not_found');
  });

  it("another user's snapshot_id → 403 snapshot_session_forbidden (chunk and delete)", async () => {
    const owner = await fiveRows('owner');
    const intruder = uniqueUser('intruder');
    await t.initEmpty(intruder);
    const s = ok(await t.createSnapshot(owner, 'dev'));
    const q = { after_row_ordinal: 0, max_rows: 10, max_bytes: 1_000_000 };
    expectError(
      await t.snapshotChunk(intruder, 'dev', s.snapshot_id, q),
      403,
      'snapshot_session_forbidden',
    );
    expectError(
      await t.deleteSnapshot(intruder, 'dev', s.snapshot_id),
      403,
      'snapshot_session_forbidden',
    );
    expect(ok(await t.snapshotChunk(owner, 'dev', s.snapshot_id, q)).rows).toHaveLength(5);
  });

  it('410 snapshot_session_expired after the session TTL', async () => {
    const user = await fiveRows('expired', timed);
    const s = ok(await timed.createSnapshot(user, 'dev'));
    clock.advance(16 * 60 * 1000);
    expectError(
      await timed.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 10,
        max_bytes: 1_000_000,
      }),
      410,
      'snapshot_session_expired',
    );
  });

  it('DELETE → 204, then the session is gone (404)', async () => {
    const user = await fiveRows('delete');
    const s = ok(await t.createSnapshot(user, 'dev'));
    const d = await t.deleteSnapshot(user, 'dev', s.snapshot_id);
    expect(d.status).toBe(204);
    expect(d.text).toBe('');
    expectError(
      await t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 1,
        max_bytes: 1000,
      }),
      404,
      'snapshot_session_not_found',
    );
  });

  it.each([
    ['after_row_ordinal -1', { after_row_ordinal: '-1' }],
    ['after_row_ordinal x', { after_row_ordinal: 'x' }],
    ['max_rows 0', { max_rows: '0' }],
    ['max_rows abc', { max_rows: 'abc' }],
    ['max_bytes 0', { max_bytes: '0' }],
    ['max_bytes -5', { max_bytes: '-5' }],
    ['max_bytes abc', { max_bytes: 'abc' }],
  ])('%s → 400 snapshot_chunk_invalid', async (_name, patch) => {
    const user = await fiveRows('badq');
    const s = ok(await t.createSnapshot(user, 'dev'));
    expectError(
      await t.snapshotChunk(user, 'dev', s.snapshot_id, {
        after_row_ordinal: '0',
        max_rows: '10',
        max_bytes: '100000',
        ...patch,
      }),
      400,
      'snapshot_chunk_invalid',
    );
  });

  it('an empty scope snapshots to row_count 0 / byte_count 0 and an empty chunk', async () => {
    const user = uniqueUser('emptysnap');
    await t.initEmpty(user);
    const all = await t.snapshotAll(user, 'dev');
    expect(all.session).toMatchObject({ snapshot_bundle_seq: 0, row_count: 0, byte_count: 0 });
    expect(all.chunks).toEqual([
      {
        snapshot_id: all.session.snapshot_id,
        snapshot_bundle_seq: 0,
        rows: [],
        next_row_ordinal: 0,
        byte_count: 0,
        has_more: false,
      },
    ]);
  });

  it.each([
    ['no body', undefined],
    ['{}', {}],
    ['null', null],
  ])('plain create accepts %s', async (_n, body) => {
    const user = await fiveRows('plain');
    const r =
      body === undefined
        ? await t.createSnapshot(user, 'dev')
        : await t.req('POST', '/sync/snapshot-sessions', {
            user,
            source: 'dev',
            rawBody: JSON.stringify(body),
            headers: { 'Content-Type': 'application/json' },
          });
    expect(ok(r).row_count).toBe(5);
  });

  it('409 scope_uninitialized before connect', async () => {
    expectError(await t.createSnapshot(uniqueUser('never'), 'dev'), 409, 'scope_uninitialized');
  });

  describe('source replacement', () => {
    const repl = (previous: string, next: string, reason = 'source_retired') => ({
      source_replacement: { previous_source_id: previous, new_source_id: next, reason },
    });

    it('retires the previous source and reserves the new one; old source → 409 source_retired', async () => {
      const user = uniqueUser('rotate');
      await t.initEmpty(user);
      await t.pushOk(user, 'old-src', 1, [userIns(uuid(1))]);
      const s = ok(
        await t.createSnapshot(user, 'old-src', repl('old-src', 'new-src', 'history_pruned')),
      );
      expect(s.row_count).toBe(1);

      const retired = await t.createPush(user, 'old-src', {
        source_bundle_id: 2,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
      });
      expectError(retired, 409, 'source_retired');
      expect(retired.json.source_id).toBe('old-src');
      expect(retired.json.replaced_by_source_id).toBe('new-src');

      // Idempotent retry of the same replacement.
      expect(
        ok(await t.createSnapshot(user, 'old-src', repl('old-src', 'new-src'))).row_count,
      ).toBe(1);
      // A different replacement for an already retired source → source_retired with the recorded one.
      const diverged = await t.createSnapshot(user, 'old-src', repl('old-src', 'third-src'));
      expectError(diverged, 409, 'source_retired');
      expect(diverged.json).toMatchObject({
        source_id: 'old-src',
        replaced_by_source_id: 'new-src',
      });
      // The reserved replacement starts at source_bundle_id 1.
      const c = await t.pushOk(user, 'new-src', 1, [userIns(uuid(2))]);
      expect(c.bundle_seq).toBe(2);
      expect(c.source_id).toBe('new-src');
    });

    it('commit of a session created before retirement → 409 source_retired', async () => {
      const user = uniqueUser('retirecommit');
      await t.initEmpty(user);
      await t.pushOk(user, 'a', 1, [userIns(uuid(1))]);
      const res = await t.pushBundle(user, 'a', 2, [userIns(uuid(2))], { commit: false });
      ok(await t.createSnapshot(user, 'a', repl('a', 'b')));
      const commit = await t.commit(user, 'a', res.pushId as string);
      expectError(commit, 409, 'source_retired');
      expect(commit.json).toMatchObject({ source_id: 'a', replaced_by_source_id: 'b' });
    });

    it('409 source_replacement_invalid when the new source id is already known', async () => {
      const user = uniqueUser('replinvalid');
      await t.initEmpty(user);
      await t.pushOk(user, 'a', 1, [userIns(uuid(1))]);
      await t.pushOk(user, 'b', 1, [userIns(uuid(2))]);
      expectError(
        await t.createSnapshot(user, 'a', repl('a', 'b')),
        409,
        'source_replacement_invalid',
      );
      // Nothing changed: a is still active.
      expect((await t.pushOk(user, 'a', 2, [userIns(uuid(3))])).bundle_seq).toBe(3);
    });

    it.each([
      ['unknown top-level member', { foo: 1 }],
      [
        'unknown member in source_replacement',
        {
          source_replacement: {
            previous_source_id: 'a',
            new_source_id: 'b',
            reason: 'source_retired',
            extra: 1,
          },
        },
      ],
      [
        'bad reason',
        { source_replacement: { previous_source_id: 'a', new_source_id: 'b', reason: 'because' } },
      ],
      [
        'previous_source_id differs from the header',
        {
          source_replacement: {
            previous_source_id: 'zzz',
            new_source_id: 'b',
            reason: 'source_retired',
          },
        },
      ],
      [
        'new_source_id equals previous',
        {
          source_replacement: {
            previous_source_id: 'a',
            new_source_id: 'a',
            reason: 'source_retired',
          },
        },
      ],
      [
        'new_source_id empty',
        {
          source_replacement: {
            previous_source_id: 'a',
            new_source_id: '',
            reason: 'source_retired',
          },
        },
      ],
      [
        'new_source_id not visible ASCII',
        {
          source_replacement: {
            previous_source_id: 'a',
            new_source_id: 'b c',
            reason: 'source_retired',
          },
        },
      ],
      ['source_replacement not an object', { source_replacement: 'a' }],
    ])('%s → 400 snapshot_session_invalid (nothing retired)', async (_n, body) => {
      const user = uniqueUser('sinv');
      await t.initEmpty(user);
      await t.pushOk(user, 'a', 1, [userIns(uuid(1))]);
      expectError(await t.createSnapshot(user, 'a', body), 400, 'snapshot_session_invalid');
      expect((await t.pushOk(user, 'a', 2, [userIns(uuid(2))])).bundle_seq).toBe(2);
    });

    it.each([
      ['two JSON values', '{} {}'],
      ['not JSON', '{nope'],
      ['an array', '[]'],
    ])('body with %s → 400 snapshot_session_invalid', async (_n, rawBody) => {
      const user = uniqueUser('sraw');
      await t.initEmpty(user);
      const r = await t.req('POST', '/sync/snapshot-sessions', {
        user,
        source: 'a',
        rawBody,
        headers: { 'Content-Type': 'application/json' },
      });
      expectError(r, 400, 'snapshot_session_invalid');
    });
  });
});
