import {
  BACKENDS,
  canonicalRequestHash,
  del,
  HEX64,
  ins,
  type PushRow,
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
import { expectError, latestSeq, ok, recomputeBundleHash, TestClock } from './helpers.js';

const HASH_A = 'a'.repeat(64);

/** A valid typed_rows INSERT with `extra` merged into the payload. */
function typedIns(id: string, extra: Record<string, unknown> = {}): PushRow {
  return ins('typed_rows', id, { name: 'typed', enabled_flag: '0', ...extra });
}

describe.each(BACKENDS)('push [%s]', (backend) => {
  let t: TestServer;
  let timed: TestClient;
  let smallChunks: TestClient;
  const clock = new TestClock();

  beforeAll(async () => {
    t = await startTestServer({ backend });
    timed = await t.withService({ now: clock.now });
    smallChunks = await t.withService({ limits: { max_rows_per_push_chunk: 2 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function ready(label: string): Promise<string> {
    const user = uniqueUser(label);
    await t.initEmpty(user);
    return user;
  }

  /** Creates a staging session for `rows` and returns its push_id. */
  async function staging(user: string, source: string, sbid: number, rows: PushRow[]) {
    const r = await t.createPush(user, source, {
      source_bundle_id: sbid,
      planned_row_count: rows.length,
      canonical_request_hash: await canonicalRequestHash(rows),
    });
    const body = ok(r);
    expect(body.status).toBe('staging');
    return body.push_id as string;
  }

  describe('success path', () => {
    it('create → chunk → commit → committed rows, with hashes, row_count and gap-free bundle_seq', async () => {
      const user = await ready('success');
      const rows = [userIns(uuid(1), 'Ada'), userIns(uuid(2), 'Bob')];
      const hash = await canonicalRequestHash(rows);

      const create = ok(
        await t.createPush(user, 'dev-1', {
          source_bundle_id: 1,
          planned_row_count: 2,
          canonical_request_hash: hash,
        }),
      );
      expect(create).toEqual({
        push_id: expect.stringMatching(UUID_RE),
        status: 'staging',
        planned_row_count: 2,
        next_expected_row_ordinal: 0,
        canonical_request_hash: hash,
      });

      const chunk = ok(await t.chunk(user, 'dev-1', create.push_id, 0, rows));
      expect(chunk).toEqual({ push_id: create.push_id, next_expected_row_ordinal: 2 });

      const commit = ok(await t.commit(user, 'dev-1', create.push_id));
      expect(commit).toEqual({
        bundle_seq: 1,
        source_id: 'dev-1',
        source_bundle_id: 1,
        row_count: 2,
        bundle_hash: expect.stringMatching(HEX64),
        canonical_request_hash: hash,
      });

      const page = ok(await t.committedRows(user, 'dev-1', 1));
      expect(page.bundle_seq).toBe(1);
      expect(page.source_id).toBe('dev-1');
      expect(page.source_bundle_id).toBe(1);
      expect(page.row_count).toBe(2);
      expect(page.bundle_hash).toBe(commit.bundle_hash);
      expect(page.canonical_request_hash).toBe(hash);
      expect(page.has_more).toBe(false);
      expect(page.next_row_ordinal).toBe(1);
      expect(page.rows).toHaveLength(2);
      for (const [i, row] of page.rows.entries()) {
        const sent = rows[i] as PushRow;
        expect(row.schema).toBe('business');
        expect(row.table).toBe('users');
        expect(row.key).toEqual(sent.key);
        expect(row.op).toBe('INSERT');
        expect(row.row_version).toBe(1);
        // Full after-image: sent columns plus server defaults, no hidden owner column.
        expect(row.payload).toMatchObject(sent.payload as object);
        expect(Object.keys(row.payload).sort()).toEqual([
          'created_at',
          'email',
          'id',
          'name',
          'updated_at',
        ]);
      }
      expect(await recomputeBundleHash(page.rows)).toBe(commit.bundle_hash);

      // bundle_seq is gap-free per user, source_bundle_id per source.
      const c2 = await t.pushOk(user, 'dev-1', 2, [userIns(uuid(3))]);
      const c3 = await t.pushOk(user, 'dev-2', 1, [userIns(uuid(4))]);
      expect([c2.bundle_seq, c3.bundle_seq]).toEqual([2, 3]);
      expect(c3.source_bundle_id).toBe(1);
    });

    it('uploads across several chunks and keeps the upload order in the committed bundle', async () => {
      const user = await ready('chunks');
      // Key order deliberately differs from upload order.
      const rows = [7, 3, 5, 1, 6, 2, 4].map((n) => userIns(uuid(n), `n${n}`));
      const res = await t.pushBundle(user, 'dev', 1, rows, { chunkSize: 3 });
      expect(res.chunks.map((c) => c.json?.next_expected_row_ordinal)).toEqual([3, 6, 7]);
      const commit = ok(res.commit as never);
      expect(commit.row_count).toBe(7);
      const all = await t.committedRowsAll(user, 'dev', commit.bundle_seq);
      expect(all.rows.map((r) => r.key.id)).toEqual(rows.map((r) => r.key.id));
      expect(await recomputeBundleHash(all.rows)).toBe(commit.bundle_hash);
    });

    it('UPDATE and DELETE with the right base version commit; versions follow bundle_seq', async () => {
      const user = await ready('updel');
      await t.pushOk(user, 'dev', 1, [userIns(uuid(1), 'v1'), userIns(uuid(2), 'gone')]);
      const c2 = await t.pushOk(user, 'dev', 2, [
        upd('users', uuid(1), { name: 'v2', email: 'v2@example.com' }, 1),
        del('users', uuid(2), 1),
      ]);
      expect(c2.bundle_seq).toBe(2);
      const page = ok(await t.committedRows(user, 'dev', 2));
      expect(page.rows.map((r: { op: string }) => r.op)).toEqual(['UPDATE', 'DELETE']);
      expect(page.rows[0].payload.name).toBe('v2');
      expect(page.rows[1].payload ?? null).toBeNull();
      expect(page.rows.every((r: { row_version: number }) => r.row_version === 2)).toBe(true);
      const snap = await t.snapshotAll(user, 'dev');
      expect(snap.rows.map((r) => [r.key.id, r.row_version, r.payload.name])).toEqual([
        [uuid(1), 2, 'v2'],
      ]);
    });

    it('UPDATE with a partial payload changes only the listed columns', async () => {
      const user = await ready('partialupd');
      await t.pushOk(user, 'dev', 1, [userIns(uuid(1), 'Before')]);
      await t.pushOk(user, 'dev', 2, [upd('users', uuid(1), { name: 'After' }, 1)]);
      const page = ok(await t.committedRows(user, 'dev', 2));
      expect(page.rows[0].payload).toMatchObject({ name: 'After', email: 'Before@example.com' });
    });

    it('deferred constraints: child before parent, self-reference and an FK cycle commit in one bundle', async () => {
      const user = await ready('deferred');
      const c = await t.pushOk(user, 'dev', 1, [
        ins('categories', uuid(2), { name: 'child', parent_id: uuid(1) }),
        ins('categories', uuid(1), { name: 'root', parent_id: null }),
        ins('teams', uuid(10), { name: 'team', captain_member_id: uuid(11) }),
        ins('team_members', uuid(11), { name: 'captain', team_id: uuid(10) }),
        ins('file_reviews', uuid(21), { review: 'r', file_id: uuid(20) }),
        ins('files', uuid(20), { name: 'f', data: 'AA==' }),
      ]);
      expect(c.row_count).toBe(6);
      const snap = await t.snapshotAll(user, 'dev');
      expect(snap.rows).toHaveLength(6);
    });

    it('deleting a parent that a non-cascading child still references → 400 push_commit_invalid', async () => {
      const user = await ready('restrict');
      await t.pushOk(user, 'dev', 1, [
        userIns(uuid(1), 'Author'),
        ins('posts', uuid(2), { title: 't', content: 'c', author_id: uuid(1) }),
      ]);
      const res = await t.pushBundle(user, 'dev', 2, [del('users', uuid(1), 1)]);
      expectError(res.commit as never, 400, 'push_commit_invalid');
      expect(await latestSeq(t, user)).toBe(1);
      // Deleting child and parent together is fine.
      const c = await t.pushOk(user, 'dev', 2, [
        del('users', uuid(1), 1),
        del('posts', uuid(2), 1),
      ]);
      expect(c.row_count).toBe(2);
    });

    it('re-create of a committed tuple → already_committed with the ORIGINAL canonical_request_hash', async () => {
      const user = await ready('already');
      const rows = [userIns(uuid(1))];
      const commit = await t.pushOk(user, 'dev', 1, rows);
      const original = await canonicalRequestHash(rows);
      const r = ok(
        await t.createPush(user, 'dev', {
          source_bundle_id: 1,
          planned_row_count: 3,
          canonical_request_hash: 'b'.repeat(64),
        }),
      );
      expect(r).toEqual({
        status: 'already_committed',
        bundle_seq: commit.bundle_seq,
        source_id: 'dev',
        source_bundle_id: 1,
        row_count: 1,
        bundle_hash: commit.bundle_hash,
        canonical_request_hash: original,
      });
      expect(await latestSeq(t, user)).toBe(1);
    });

    it('committing the same push_id twice → second commit 404 push_session_not_found', async () => {
      const user = await ready('twice');
      const res = await t.pushBundle(user, 'dev', 1, [userIns(uuid(1))]);
      ok(res.commit as never);
      expectError(await t.commit(user, 'dev', res.pushId as string), 404, 'push_session_not_found');
      expect(await latestSeq(t, user)).toBe(1);
    });

    it('a new create for an uncommitted tuple replaces the old session (old push_id → 404)', async () => {
      const user = await ready('replace');
      const rowsOld = [userIns(uuid(1), 'old'), userIns(uuid(2), 'old2')];
      const oldId = await staging(user, 'dev', 1, rowsOld);
      ok(await t.chunk(user, 'dev', oldId, 0, rowsOld.slice(0, 1)));
      const rowsNew = [userIns(uuid(3), 'new')];
      const newId = await staging(user, 'dev', 1, rowsNew);
      expect(newId).not.toBe(oldId);
      expectError(
        await t.chunk(user, 'dev', oldId, 1, rowsOld.slice(1)),
        404,
        'push_session_not_found',
      );
      expectError(await t.commit(user, 'dev', oldId), 404, 'push_session_not_found');
      ok(await t.chunk(user, 'dev', newId, 0, rowsNew));
      const commit = ok(await t.commit(user, 'dev', newId));
      expect(commit.row_count).toBe(1);
      const page = ok(await t.committedRows(user, 'dev', commit.bundle_seq));
      expect(page.rows.map((r: { key: { id: string } }) => r.key.id)).toEqual([uuid(3)]);
    });

    it('DELETE of a push session → 204 with no body, then 404', async () => {
      const user = await ready('delsession');
      const rows = [userIns(uuid(1))];
      const id = await staging(user, 'dev', 1, rows);
      ok(await t.chunk(user, 'dev', id, 0, rows));
      const d = await t.deletePush(user, 'dev', id);
      expect(d.status).toBe(204);
      expect(d.text).toBe('');
      expectError(await t.deletePush(user, 'dev', id), 404, 'push_session_not_found');
      expectError(await t.commit(user, 'dev', id), 404, 'push_session_not_found');
      expect(await latestSeq(t, user)).toBe(0);
      // The tuple is still free.
      expect((await t.pushOk(user, 'dev', 1, rows)).bundle_seq).toBe(1);
    });
  });

  describe('push_session_invalid and sequencing at create', () => {
    it.each([
      ['source_bundle_id 0', { source_bundle_id: 0 }],
      ['source_bundle_id -1', { source_bundle_id: -1 }],
      ['source_bundle_id missing', { source_bundle_id: undefined }],
      ['planned_row_count 0', { planned_row_count: 0 }],
      ['planned_row_count -5', { planned_row_count: -5 }],
      ['planned_row_count missing', { planned_row_count: undefined }],
      ['canonical_request_hash missing', { canonical_request_hash: undefined }],
      ['canonical_request_hash uppercase', { canonical_request_hash: 'A'.repeat(64) }],
      ['canonical_request_hash 63 chars', { canonical_request_hash: 'a'.repeat(63) }],
      ['canonical_request_hash 65 chars', { canonical_request_hash: 'a'.repeat(65) }],
      ['canonical_request_hash non-hex', { canonical_request_hash: 'g'.repeat(64) }],
    ])('%s → 400 push_session_invalid', async (_name, patch) => {
      const user = await ready('invalid');
      const body: Record<string, unknown> = {
        source_bundle_id: 1,
        planned_row_count: 1,
        canonical_request_hash: HASH_A,
        ...patch,
      };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      const r = await t.createPush(user, 'dev', body);
      expectError(r, 400, 'push_session_invalid');
      // Nothing was created: the tuple is still free.
      expect((await t.pushOk(user, 'dev', 1, [userIns(uuid(1))])).bundle_seq).toBe(1);
    });

    it('missing initialization_id while the scope is initializing → 400 push_session_invalid', async () => {
      const user = uniqueUser('seedmissing');
      await t.connect(user, 'dev', true);
      expectError(
        await t.createPush(user, 'dev', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
        }),
        400,
        'push_session_invalid',
      );
    });

    it('a never-connected scope → 409 scope_uninitialized', async () => {
      const user = uniqueUser('uninit');
      expectError(
        await t.createPush(user, 'dev', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
        }),
        409,
        'scope_uninitialized',
      );
    });

    it('initialization_id held by another source or unknown → 409 initialization_stale', async () => {
      const user = uniqueUser('stale');
      const c = await t.connect(user, 'holder', true);
      expectError(
        await t.createPush(user, 'intruder', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
          initialization_id: c.initialization_id,
        }),
        409,
        'initialization_stale',
      );
      expectError(
        await t.createPush(user, 'holder', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
          initialization_id: uuid(77),
        }),
        409,
        'initialization_stale',
      );
    });

    it('source_bundle_id below the retained history → 409 history_pruned', async () => {
      const user = await ready('pruned');
      await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
      await t.pushOk(user, 'dev', 2, [userIns(uuid(2))]);
      await t.service.setRetainedFloor(user, 1);
      expectError(
        await t.createPush(user, 'dev', {
          source_bundle_id: 1,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
        }),
        409,
        'history_pruned',
      );
      // Bundle 2 is still retained → already_committed.
      const r = ok(
        await t.createPush(user, 'dev', {
          source_bundle_id: 2,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
        }),
      );
      expect(r.status).toBe('already_committed');
    });

    it('source_bundle_id skipping ahead → 409 source_sequence_out_of_order', async () => {
      const user = await ready('ooo');
      for (const sbid of [2, 5]) {
        expectError(
          await t.createPush(user, 'fresh', {
            source_bundle_id: sbid,
            planned_row_count: 1,
            canonical_request_hash: HASH_A,
          }),
          409,
          'source_sequence_out_of_order',
        );
      }
      await t.pushOk(user, 'fresh', 1, [userIns(uuid(1))]);
      expectError(
        await t.createPush(user, 'fresh', {
          source_bundle_id: 3,
          planned_row_count: 1,
          canonical_request_hash: HASH_A,
        }),
        409,
        'source_sequence_out_of_order',
      );
    });
  });

  describe('push_chunk_invalid', () => {
    const u1 = uuid(1);
    const cases: [string, () => { rows: unknown[]; start?: number; planned?: number }][] = [
      ['empty rows', () => ({ rows: [], planned: 1 })],
      ['start_row_ordinal < 0', () => ({ rows: [userIns(u1)], start: -1 })],
      ['more rows than planned', () => ({ rows: [userIns(u1), userIns(uuid(2))], planned: 1 })],
      ['unknown table', () => ({ rows: [ins('nope', u1, { name: 'x' })] })],
      ['unknown schema', () => ({ rows: [{ ...userIns(u1), schema: 'other' }] })],
      ['bad op', () => ({ rows: [{ ...userIns(u1), op: 'UPSERT' }] })],
      ['key missing', () => ({ rows: [{ ...userIns(u1), key: {} }] })],
      ['key on another column', () => ({ rows: [{ ...userIns(u1), key: { uid: u1 } }] })],
      ['key value not a string', () => ({ rows: [{ ...userIns(u1), key: { id: 1 } }] })],
      ['uppercase UUID key', () => ({ rows: [userIns('ABCDEF01-0000-4000-8000-00000000000A')] })],
      ['non-UUID key for a uuid column', () => ({ rows: [userIns('not-a-uuid')] })],
      ['UUID key without dashes', () => ({ rows: [userIns(u1.replaceAll('-', ''))] })],
      ['payload on DELETE', () => ({ rows: [{ ...del('users', u1, 1), payload: { id: u1 } }] })],
      ['missing payload on INSERT', () => ({ rows: [{ ...userIns(u1), payload: undefined }] })],
      ['null payload on UPDATE', () => ({ rows: [{ ...upd('users', u1, {}, 1), payload: null }] })],
      ['array payload', () => ({ rows: [{ ...userIns(u1), payload: [1] }] })],
      [
        '_sync_scope_id in payload',
        () => ({ rows: [ins('users', u1, { name: 'n', email: 'e', _sync_scope_id: 'x' })] }),
      ],
      ['unknown column', () => ({ rows: [ins('users', u1, { name: 'n', email: 'e', nope: 1 })] })],
      ['mixed-case column', () => ({ rows: [ins('users', u1, { Name: 'n', email: 'e' })] })],
      [
        'payload key differs from row key',
        () => ({ rows: [{ ...userIns(u1), payload: { id: uuid(2), name: 'n', email: 'e' } }] }),
      ],
      ['duplicate (table,key) in one chunk', () => ({ rows: [userIns(u1), userIns(u1, 'again')] })],
      ['integer as JSON number', () => ({ rows: [typedIns(u1, { count_value: 42 })] })],
      ['integer with leading zero', () => ({ rows: [typedIns(u1, { count_value: '01' })] })],
      ['integer with fraction', () => ({ rows: [typedIns(u1, { count_value: '1.5' })] })],
      ['integer with exponent', () => ({ rows: [typedIns(u1, { count_value: '1e3' })] })],
      [
        'int8 out of range',
        () => ({ rows: [typedIns(u1, { count_value: '9223372036854775808' })] }),
      ],
      ['int2 out of range', () => ({ rows: [typedIns(u1, { small_count: '32768' })] })],
      ['int2 below range', () => ({ rows: [typedIns(u1, { small_count: '-32769' })] })],
      ['int4 out of range', () => ({ rows: [typedIns(u1, { medium_count: '2147483648' })] })],
      ['float "1.0"', () => ({ rows: [typedIns(u1, { rating: '1.0' })] })],
      ['float "NaN"', () => ({ rows: [typedIns(u1, { rating: 'NaN' })] })],
      ['float "-0"', () => ({ rows: [typedIns(u1, { rating: '-0' })] })],
      ['float as JSON number', () => ({ rows: [typedIns(u1, { rating: 1.5 })] })],
      ['float4 "1.0"', () => ({ rows: [typedIns(u1, { float4_value: '1.0' })] })],
      ['decimal "01.5"', () => ({ rows: [typedIns(u1, { exact_amount: '01.5' })] })],
      ['decimal as JSON number', () => ({ rows: [typedIns(u1, { exact_amount: 1.25 })] })],
      ['boolean "2"', () => ({ rows: [typedIns(u1, { enabled_flag: '2' })] })],
      ['boolean "true"', () => ({ rows: [typedIns(u1, { enabled_flag: 'true' })] })],
      ['bad base64', () => ({ rows: [typedIns(u1, { data: '!!not base64!!' })] })],
      [
        'non-UUID for a uuid column',
        () => ({ rows: [ins('posts', u1, { title: 't', content: 'c', author_id: 'nope' })] }),
      ],
    ];

    it.each(cases)('%s → 400 push_chunk_invalid (nothing staged)', async (_name, make) => {
      const user = await ready('chunkinv');
      const { rows, start = 0, planned } = make();
      const id = await staging(
        user,
        'dev',
        1,
        Array.from({ length: planned ?? Math.max(rows.length, 1) }, (_, i) =>
          userIns(uuid(100 + i)),
        ),
      );
      const r = await t.chunk(user, 'dev', id, start, rows);
      expectError(r, 400, 'push_chunk_invalid');
      // The session is untouched: a valid first chunk at ordinal 0 is still expected.
      const follow = await t.chunk(user, 'dev', id, 0, [userIns(uuid(200))]);
      expect(follow.status, follow.text).toBe(200);
      expect(follow.json.next_expected_row_ordinal).toBe(1);
      expect(await latestSeq(t, user)).toBe(0);
    });

    it('a chunk over max_rows_per_push_chunk → 400 push_chunk_invalid; at the limit it is accepted', async () => {
      const user = uniqueUser('maxchunk');
      await smallChunks.initEmpty(user);
      const rows = [1, 2, 3].map((n) => userIns(uuid(n)));
      const res = await smallChunks.pushBundle(user, 'dev', 1, rows, { chunkSize: 3 });
      expectError(res.chunks[0] as never, 400, 'push_chunk_invalid');
      const res2 = await smallChunks.pushBundle(user, 'dev', 1, rows, { chunkSize: 2 });
      expect(res2.chunks.map((c) => c.status)).toEqual([200, 200]);
      expect(ok(res2.commit as never).row_count).toBe(3);
    });

    it('duplicate (table,key) across chunks is rejected and nothing is committed', async () => {
      const user = await ready('dupacross');
      const rows = [userIns(uuid(1)), userIns(uuid(1), 'again')];
      const id = await staging(user, 'dev', 1, rows);
      ok(await t.chunk(user, 'dev', id, 0, rows.slice(0, 1)));
      const second = await t.chunk(user, 'dev', id, 1, rows.slice(1));
      if (second.status === 200) {
        expectError(await t.commit(user, 'dev', id), 400, 'push_commit_invalid');
      } else {
        expectError(second, 400, 'push_chunk_invalid');
      }
      expect(await latestSeq(t, user)).toBe(0);
    });

    it('push_chunk_invalid is reported even for an unknown session (row validation first) or 404', async () => {
      const user = await ready('unknownsess');
      const r = await t.chunk(user, 'dev', uuid(4242), 0, []);
      expect([400, 404]).toContain(r.status);
    });
  });

  describe('session state errors', () => {
    it('wrong start_row_ordinal → 409 push_chunk_out_of_order', async () => {
      const user = await ready('order');
      const rows = [userIns(uuid(1)), userIns(uuid(2)), userIns(uuid(3))];
      const id = await staging(user, 'dev', 1, rows);
      expectError(
        await t.chunk(user, 'dev', id, 1, rows.slice(1, 2)),
        409,
        'push_chunk_out_of_order',
      );
      ok(await t.chunk(user, 'dev', id, 0, rows.slice(0, 2)));
      // A retried chunk is not idempotent.
      expectError(
        await t.chunk(user, 'dev', id, 0, rows.slice(0, 2)),
        409,
        'push_chunk_out_of_order',
      );
      expectError(await t.chunk(user, 'dev', id, 3, rows.slice(2)), 409, 'push_chunk_out_of_order');
      ok(await t.chunk(user, 'dev', id, 2, rows.slice(2)));
      expect(ok(await t.commit(user, 'dev', id)).row_count).toBe(3);
    });

    it.each([
      ['unknown UUID', uuid(31337)],
      ['non-UUID', 'not-a-uuid'],
      ['uppercase UUID', uuid(31337).toUpperCase()],
    ])('%s push_id → 404 push_session_not_found on chunk, commit and delete', async (_n, id) => {
      const user = await ready('notfound');
      expectError(
        await t.chunk(user, 'dev', id, 0, [userIns(uuid(1))]),
        404,
        'push_session_not_found',
      );
      expectError(await t.commit(user, 'dev', id), 404, 'push_session_not_found');
      expectError(await t.deletePush(user, 'dev', id), 404, 'push_session_not_found');
    });

    it("another user's push_id → 403 push_session_forbidden; the owner's session is intact", async () => {
      const owner = await ready('owner');
      const intruder = await ready('intruder');
      const rows = [userIns(uuid(1), 'Owned')];
      const id = await staging(owner, 'dev', 1, rows);
      expectError(await t.chunk(intruder, 'dev', id, 0, rows), 403, 'push_session_forbidden');
      expectError(await t.commit(intruder, 'dev', id), 403, 'push_session_forbidden');
      expectError(await t.deletePush(intruder, 'dev', id), 403, 'push_session_forbidden');
      ok(await t.chunk(owner, 'dev', id, 0, rows));
      expectError(await t.commit(intruder, 'dev', id), 403, 'push_session_forbidden');
      expect(ok(await t.commit(owner, 'dev', id)).bundle_seq).toBe(1);
      expect(await latestSeq(t, intruder)).toBe(0);
    });

    it('expired session → 410 push_session_expired on chunk and commit', async () => {
      const user = uniqueUser('expired');
      await timed.initEmpty(user);
      const rows = [userIns(uuid(1)), userIns(uuid(2))];
      const res = await timed.pushBundle(user, 'dev', 1, rows, { chunkSize: 1, commit: false });
      expect(res.chunks).toHaveLength(2);
      const id = res.pushId as string;
      clock.advance(16 * 60 * 1000);
      expectError(await timed.commit(user, 'dev', id), 410, 'push_session_expired');
      const id2 = (
        await timed.createPush(user, 'dev', {
          source_bundle_id: 1,
          planned_row_count: 2,
          canonical_request_hash: await canonicalRequestHash(rows),
        })
      ).json.push_id;
      ok(await timed.chunk(user, 'dev', id2, 0, rows.slice(0, 1)));
      clock.advance(16 * 60 * 1000);
      expectError(
        await timed.chunk(user, 'dev', id2, 1, rows.slice(1)),
        410,
        'push_session_expired',
      );
      expect(await latestSeq(timed, user)).toBe(0);
    });
  });

  describe('push_commit_invalid', () => {
    it('commit before all planned rows were uploaded → 400', async () => {
      const user = await ready('partial');
      const rows = [userIns(uuid(1)), userIns(uuid(2))];
      const id = await staging(user, 'dev', 1, rows);
      expectError(await t.commit(user, 'dev', id), 400, 'push_commit_invalid');
      ok(await t.chunk(user, 'dev', id, 0, rows.slice(0, 1)));
      expectError(await t.commit(user, 'dev', id), 400, 'push_commit_invalid');
      expect(await latestSeq(t, user)).toBe(0);
      ok(await t.chunk(user, 'dev', id, 1, rows.slice(1)));
      expect(ok(await t.commit(user, 'dev', id)).row_count).toBe(2);
    });

    it('canonical_request_hash that does not match the staged rows → 400', async () => {
      const user = await ready('hashmismatch');
      const rows = [userIns(uuid(1), 'real')];
      const other = await canonicalRequestHash([userIns(uuid(1), 'different')]);
      const res = await t.pushBundle(user, 'dev', 1, rows, { canonicalRequestHash: other });
      expect(res.create.status).toBe(200);
      const failed = res.commit ?? res.chunks.find((c) => c.status !== 200);
      expect(failed).toBeDefined();
      if (failed === res.commit) expectError(failed as never, 400, 'push_commit_invalid');
      else expectError(failed as never, 400, 'push_chunk_invalid');
      expect(await latestSeq(t, user)).toBe(0);
    });

    it('NOT NULL violation at apply → 400 push_commit_invalid, not 500', async () => {
      const user = await ready('notnull');
      const rows = [ins('users', uuid(1), { name: 'no email' })];
      const res = await t.pushBundle(user, 'dev', 1, rows);
      expectError(res.commit as never, 400, 'push_commit_invalid');
      expect(await latestSeq(t, user)).toBe(0);
      const snap = await t.snapshotAll(user, 'dev');
      expect(snap.session.row_count).toBe(0);
    });

    it('deferred FK violation at COMMIT → 400 push_commit_invalid, not 500', async () => {
      const user = await ready('fk');
      const rows = [ins('posts', uuid(1), { title: 't', content: 'c', author_id: uuid(99) })];
      const res = await t.pushBundle(user, 'dev', 1, rows);
      expectError(res.commit as never, 400, 'push_commit_invalid');
      expect(await latestSeq(t, user)).toBe(0);
      // The tuple is still usable with a valid bundle (child before parent is fine: FKs deferred).
      const good = [
        ins('posts', uuid(1), { title: 't', content: 'c', author_id: uuid(2) }),
        userIns(uuid(2), 'Author'),
      ];
      expect((await t.pushOk(user, 'dev', 1, good)).bundle_seq).toBe(1);
    });
  });

  describe('push_conflict', () => {
    it('INSERT over a live row → structured conflict with the server row', async () => {
      const user = await ready('conf-ins');
      await t.pushOk(user, 'a', 1, [userIns(uuid(1), 'Server')]);
      const res = await t.pushBundle(user, 'b', 1, [userIns(uuid(1), 'Client')]);
      expectError(res.commit as never, 409, 'push_conflict');
      const conflict = res.commit?.json.conflict;
      expect(conflict).toMatchObject({
        schema: 'business',
        table: 'users',
        key: { id: uuid(1) },
        op: 'INSERT',
        base_row_version: 0,
        server_row_version: 1,
        server_row_deleted: false,
      });
      expect(conflict.server_row).toMatchObject({
        id: uuid(1),
        name: 'Server',
        email: 'Server@example.com',
      });
      expect(conflict.server_row).not.toHaveProperty('_sync_scope_id');
      expect(await latestSeq(t, user)).toBe(1);
    });

    it('UPDATE with a stale base → conflict carrying the current version; whole bundle rejected', async () => {
      const user = await ready('conf-upd');
      await t.pushOk(user, 'a', 1, [userIns(uuid(1), 'v1')]);
      await t.pushOk(user, 'a', 2, [upd('users', uuid(1), { name: 'v2' }, 1)]);
      const res = await t.pushBundle(user, 'b', 1, [
        userIns(uuid(5), 'would-be-new'),
        upd('users', uuid(1), { name: 'stale' }, 1),
      ]);
      expectError(res.commit as never, 409, 'push_conflict');
      const c = res.commit?.json.conflict;
      expect(c).toMatchObject({
        key: { id: uuid(1) },
        op: 'UPDATE',
        base_row_version: 1,
        server_row_version: 2,
        server_row_deleted: false,
      });
      expect(c.server_row.name).toBe('v2');
      // No partial apply: the other row of the rejected bundle does not exist.
      expect(await latestSeq(t, user)).toBe(2);
      const snap = await t.snapshotAll(user, 'a');
      expect(snap.rows.map((r) => r.key.id)).toEqual([uuid(1)]);
    });

    it('DELETE or UPDATE of a missing row → conflict with server_row null and version 0', async () => {
      const user = await ready('conf-missing');
      for (const row of [del('users', uuid(1), 0), upd('users', uuid(1), { name: 'x' }, 0)]) {
        const res = await t.pushBundle(user, 'a', 1, [row]);
        expectError(res.commit as never, 409, 'push_conflict');
        expect(res.commit?.json.conflict).toEqual({
          schema: 'business',
          table: 'users',
          key: { id: uuid(1) },
          op: row.op,
          base_row_version: 0,
          server_row_version: 0,
          server_row_deleted: false,
          server_row: null,
        });
      }
      expect(await latestSeq(t, user)).toBe(0);
    });

    it('re-INSERT after delete: base 0 conflicts on the tombstone, base = tombstone version is accepted', async () => {
      const user = await ready('conf-tomb');
      await t.pushOk(user, 'a', 1, [userIns(uuid(1), 'first')]);
      await t.pushOk(user, 'a', 2, [del('users', uuid(1), 1)]);
      const res = await t.pushBundle(user, 'a', 3, [userIns(uuid(1), 'again', 0)]);
      expectError(res.commit as never, 409, 'push_conflict');
      expect(res.commit?.json.conflict).toMatchObject({
        op: 'INSERT',
        base_row_version: 0,
        server_row_version: 2,
        server_row_deleted: true,
        server_row: null,
      });
      // UPDATE of a tombstone conflicts too.
      const res2 = await t.pushBundle(user, 'a', 3, [upd('users', uuid(1), { name: 'x' }, 2)]);
      expectError(res2.commit as never, 409, 'push_conflict');
      const okCommit = await t.pushOk(user, 'a', 3, [userIns(uuid(1), 'again', 2)]);
      expect(okCommit.bundle_seq).toBe(3);
      const page = ok(await t.committedRows(user, 'a', 3));
      expect(page.rows[0].payload.name).toBe('again');
      expect(['INSERT', 'UPDATE']).toContain(page.rows[0].op);
    });
  });
});
