import {
  BACKENDS,
  RFC3339_RE,
  startTestServer,
  type TestClient,
  type TestServer,
  UUID_RE,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok, TestClock } from './helpers.js';

describe.each(BACKENDS)('connect [%s]', (backend) => {
  let t: TestServer;
  /** A service instance on the same database with a 1 s lease and a movable clock. */
  let short: TestClient;
  const clock = new TestClock();

  beforeAll(async () => {
    t = await startTestServer({ backend });
    short = await t.withService({
      limits: { initialization_lease_ttl_seconds: 1 },
      now: clock.now,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('UNINITIALIZED + no pending rows → initialize_empty (no initialization_id), then remote_authoritative', async () => {
    const user = uniqueUser('empty');
    const c = await t.connect(user, 'a', false);
    expect(c.resolution).toBe('initialize_empty');
    expect(c.initialization_id ?? '').toBe('');
    expect(c).not.toHaveProperty('retry_after_seconds');
    // The scope is INITIALIZED: pull works, and every later connect is remote_authoritative.
    const pull = ok(await t.pull(user, 'a', { after_bundle_seq: 0 }));
    expect(pull).toEqual({ stable_bundle_seq: 0, bundles: [], has_more: false });
    for (const [source, pending] of [
      ['a', false],
      ['a', true],
      ['b', true],
      ['b', false],
    ] as const) {
      const again = await t.connect(user, source, pending);
      expect(again.resolution).toBe('remote_authoritative');
      expect(again.initialization_id ?? '').toBe('');
    }
  });

  it('UNINITIALIZED + pending rows → initialize_local with a lowercase UUID id and an RFC 3339 lease', async () => {
    const user = uniqueUser('local');
    const before = Date.now();
    const c = await t.connect(user, 'a', true);
    expect(c.resolution).toBe('initialize_local');
    expect(c.initialization_id).toMatch(UUID_RE);
    expect(c.lease_expires_at).toMatch(RFC3339_RE);
    const lease = Date.parse(c.lease_expires_at);
    expect(lease).toBeGreaterThan(before);
    expect(c).not.toHaveProperty('retry_after_seconds');
  });

  it('INITIALIZING: same source reconnect keeps the initialization_id and refreshes the lease', async () => {
    const user = uniqueUser('same');
    const first = await t.connect(user, 'a', true);
    await new Promise((r) => setTimeout(r, 20));
    const second = await t.connect(user, 'a', true);
    expect(second.resolution).toBe('initialize_local');
    expect(second.initialization_id).toBe(first.initialization_id);
    expect(Date.parse(second.lease_expires_at)).toBeGreaterThanOrEqual(
      Date.parse(first.lease_expires_at),
    );
  });

  it('INITIALIZING: other source → retry_later with retry_after_seconds >= 1 and lease_expires_at', async () => {
    const user = uniqueUser('other');
    const first = await t.connect(user, 'a', true);
    for (const pending of [true, false]) {
      const c = await t.connect(user, 'b', pending);
      expect(c.resolution).toBe('retry_later');
      expect(Number.isInteger(c.retry_after_seconds)).toBe(true);
      expect(c.retry_after_seconds).toBeGreaterThanOrEqual(1);
      // At most the remaining lease (default TTL 900 s).
      expect(c.retry_after_seconds).toBeLessThanOrEqual(900);
      expect(Date.parse(c.lease_expires_at)).toBe(Date.parse(first.lease_expires_at));
      expect(c.lease_expires_at).toMatch(RFC3339_RE);
      expect(c.initialization_id ?? '').toBe('');
    }
    // The holder is unchanged.
    const again = await t.connect(user, 'a', true);
    expect(again.initialization_id).toBe(first.initialization_id);
  });

  it('INITIALIZING: same source without pending rows → initialize_empty (scope initialized)', async () => {
    const user = uniqueUser('sameempty');
    await t.connect(user, 'a', true);
    const c = await t.connect(user, 'a', false);
    expect(c.resolution).toBe('initialize_empty');
    expect((await t.connect(user, 'b', true)).resolution).toBe('remote_authoritative');
  });

  it('read paths answer 409 scope_initializing while a lease is held, to the holder too', async () => {
    const user = uniqueUser('initializing');
    await t.connect(user, 'a', true);
    for (const source of ['a', 'b']) {
      expectError(await t.pull(user, source, { after_bundle_seq: 0 }), 409, 'scope_initializing');
      expectError(await t.createSnapshot(user, source), 409, 'scope_initializing');
      expectError(
        await t.req('GET', '/sync/watch?after_bundle_seq=0', { user, source }),
        409,
        'scope_initializing',
      );
    }
  });

  it('before any connect: push create, pull, snapshot and watch answer 409 scope_uninitialized', async () => {
    const user = uniqueUser('uninit');
    expectError(
      await t.createPush(user, 'a', {
        source_bundle_id: 1,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
      }),
      409,
      'scope_uninitialized',
    );
    expectError(await t.pull(user, 'a', { after_bundle_seq: 0 }), 409, 'scope_uninitialized');
    expectError(await t.createSnapshot(user, 'a'), 409, 'scope_uninitialized');
    expectError(
      await t.req('GET', '/sync/watch?after_bundle_seq=0', { user, source: 'a' }),
      409,
      'scope_uninitialized',
    );
  });

  it('seed push with the initialization_id commits bundle 1 and makes the scope remote_authoritative', async () => {
    const user = uniqueUser('seed');
    const c = await t.connect(user, 'a', true);
    const commit = await t.pushOk(user, 'a', 1, [userIns(uuid(1), 'Seed')], {
      initializationId: c.initialization_id,
    });
    expect(commit.bundle_seq).toBe(1);
    expect((await t.connect(user, 'b', true)).resolution).toBe('remote_authoritative');
    expect((await t.connect(user, 'a', true)).resolution).toBe('remote_authoritative');
    const pull = ok(await t.pull(user, 'b', { after_bundle_seq: 0 }));
    expect(pull.bundles.map((b: { bundle_seq: number }) => b.bundle_seq)).toEqual([1]);
  });

  it('the header source wins over a source_id member in the body', async () => {
    const user = uniqueUser('hdrwins');
    const r = await t.req('POST', '/sync/connect', {
      user,
      source: 'header-src',
      body: { has_local_pending_rows: true, source_id: 'body-src' },
    });
    const first = ok(r);
    expect(first.resolution).toBe('initialize_local');
    const fromBodySource = await t.connect(user, 'body-src', true);
    expect(fromBodySource.resolution).toBe('retry_later');
    const fromHeader = await t.connect(user, 'header-src', true);
    expect(fromHeader.initialization_id).toBe(first.initialization_id);
  });

  it('accepts {} (has_local_pending_rows defaults to false)', async () => {
    const user = uniqueUser('emptybody');
    const c = ok(await t.req('POST', '/sync/connect', { user, source: 'a', body: {} }));
    expect(c.resolution).toBe('initialize_empty');
  });

  it('rejects a non-boolean has_local_pending_rows with 400 invalid_request', async () => {
    const user = uniqueUser('badpending');
    const r = await t.req('POST', '/sync/connect', {
      user,
      source: 'a',
      body: { has_local_pending_rows: 'yes' },
    });
    expectError(r, 400, 'invalid_request');
    expect((await t.connect(user, 'a', false)).resolution).toBe('initialize_empty');
  });

  describe('lease expiry (1 s lease, movable clock)', () => {
    it('after the lease lapses another source gets a fresh initialize_local', async () => {
      const user = uniqueUser('lapse');
      const a = await short.connect(user, 'a', true);
      expect(a.resolution).toBe('initialize_local');
      expect((await short.connect(user, 'b', true)).resolution).toBe('retry_later');
      clock.advance(2000);
      const b = await short.connect(user, 'b', true);
      expect(b.resolution).toBe('initialize_local');
      expect(b.initialization_id).toMatch(UUID_RE);
      expect(b.initialization_id).not.toBe(a.initialization_id);
      // The old initializer is now stale: its seed push is refused, nothing is committed.
      const stale = await short.createPush(user, 'a', {
        source_bundle_id: 1,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
        initialization_id: a.initialization_id,
      });
      expectError(stale, 409, 'initialization_stale');
      // The new holder can seed.
      const commit = await short.pushOk(user, 'b', 1, [userIns(uuid(1))], {
        initializationId: b.initialization_id,
      });
      expect(commit.bundle_seq).toBe(1);
    });

    it('after the lease lapses, the old holder pushing with its id gets 410 initialization_expired', async () => {
      const user = uniqueUser('expired');
      const a = await short.connect(user, 'a', true);
      clock.advance(2000);
      const r = await short.createPush(user, 'a', {
        source_bundle_id: 1,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
        initialization_id: a.initialization_id,
      });
      expectError(r, 410, 'initialization_expired');
      // Read paths: the lapsed lease counts as uninitialized.
      expectError(await short.pull(user, 'a', { after_bundle_seq: 0 }), 409, 'scope_uninitialized');
    });

    it('a seed session whose lease lapses before commit cannot commit (nothing becomes authoritative)', async () => {
      const user = uniqueUser('lapsecommit');
      const a = await short.connect(user, 'a', true);
      const res = await short.pushBundle(user, 'a', 1, [userIns(uuid(1), 'Crashed')], {
        initializationId: a.initialization_id,
        commit: false,
      });
      expect(res.chunks.map((c) => c.status)).toEqual([200]);
      clock.advance(2000);
      const commit = await short.commit(user, 'a', res.pushId as string);
      expect([409, 410]).toContain(commit.status);
      expect(['initialization_stale', 'initialization_expired']).toContain(commit.json?.error);
      // Another source initializes empty; the crashed row never appears.
      expect((await short.connect(user, 'b', false)).resolution).toBe('initialize_empty');
      const snap = await short.snapshotAll(user, 'b');
      expect(snap.session.row_count).toBe(0);
    });
  });
});
