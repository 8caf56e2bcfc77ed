import {
  BACKENDS,
  SseReader,
  startTestServer,
  type TestClient,
  type TestServer,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError } from './helpers.js';

describe.each(BACKENDS)('watch [%s]', (backend) => {
  let t: TestServer;
  /** A second service instance with its own database handle (a second "process"). */
  let second: TestClient;
  const open: SseReader[] = [];

  beforeAll(async () => {
    t = await startTestServer({ backend });
    second = await t.withService({}, { separateHandle: true });
  });
  afterAll(async () => {
    for (const r of open) await r.close();
    await t?.close();
  });

  async function watch(c: TestClient, user: string, after: number, source = 'watcher') {
    const res = await c.raw('GET', `/sync/watch?after_bundle_seq=${after}`, { user, source });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type') ?? '').toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control') ?? '').toContain('no-cache');
    expect(res.body).not.toBeNull();
    const reader = new SseReader(res.body as ReadableStream<Uint8Array>);
    open.push(reader);
    return reader;
  }

  it('a commit wakes the stream with event: bundle and the bundle metadata', async () => {
    const user = uniqueUser('wake');
    await t.initEmpty(user);
    const reader = await watch(t, user, 0);
    const commit = await t.pushOk(user, 'pusher', 1, [userIns(uuid(1))]);
    const ev = await reader.nextBundle(5000);
    expect(ev.bundle_seq).toBe(commit.bundle_seq);
    if ('source_id' in ev) expect(ev.source_id).toBe('pusher');
    if ('source_bundle_id' in ev) expect(ev.source_bundle_id).toBe(1);
    await t.pushOk(user, 'pusher', 2, [userIns(uuid(2))]);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(2);
    await reader.close();
  });

  it('sends an initial event when after_bundle_seq is behind the latest bundle', async () => {
    const user = uniqueUser('initial');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
    await t.pushOk(user, 'dev', 2, [userIns(uuid(2))]);
    const reader = await watch(t, user, 0);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(2);
    await reader.close();
  });

  it('sends no initial event when after_bundle_seq is current; the next commit wakes it', async () => {
    const user = uniqueUser('current');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
    const reader = await watch(t, user, 1);
    await expect(reader.next(300)).rejects.toThrow(/no event/);
    await t.pushOk(user, 'dev', 2, [userIns(uuid(2))]);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(2);
    await reader.close();
  });

  it("does not wake for another user's commits", async () => {
    const a = uniqueUser('iso-a');
    const b = uniqueUser('iso-b');
    await t.initEmpty(a);
    await t.initEmpty(b);
    const reader = await watch(t, a, 0);
    await t.pushOk(b, 'dev', 1, [userIns(uuid(1))]);
    await t.pushOk(b, 'dev', 2, [userIns(uuid(2))]);
    await expect(reader.next(300)).rejects.toThrow(/no event/);
    await t.pushOk(a, 'dev', 1, [userIns(uuid(1))]);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(1);
    await reader.close();
  });

  it('a commit through one service instance wakes a watcher on another instance (same database)', async () => {
    const user = uniqueUser('cross');
    await t.initEmpty(user);
    const reader = await watch(second, user, 0);
    await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
    expect((await reader.nextBundle(8000)).bundle_seq).toBe(1);
    // And the other way round.
    const reader2 = await watch(t, user, 1);
    await second.pushOk(user, 'dev', 2, [userIns(uuid(2))]);
    expect((await reader2.nextBundle(8000)).bundle_seq).toBe(2);
    await reader.close();
    await reader2.close();
  });

  it('a server-originated write wakes the stream', async () => {
    const user = uniqueUser('srvwake');
    await t.initEmpty(user);
    const reader = await watch(t, user, 0);
    await t.service.scopeManager.execWrite(user, { writerId: 'srv' }, ((tx: {
      query: (s: string, p: unknown[]) => Promise<unknown>;
    }) =>
      tx.query('INSERT INTO business.users (id, name, email) VALUES ($1, $2, $3)', [
        uuid(1),
        'n',
        'e',
      ])) as never);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(1);
    await reader.close();
  });

  it('a rolled-back commit (conflict) does not wake the stream', async () => {
    const user = uniqueUser('nowake');
    await t.initEmpty(user);
    await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
    const reader = await watch(t, user, 1);
    const res = await t.pushBundle(user, 'other', 1, [userIns(uuid(1))]);
    expect(res.commit?.status).toBe(409);
    await expect(reader.next(300)).rejects.toThrow(/no event/);
    await reader.close();
  });

  it('409 scope_uninitialized before connect; 400 invalid_request for a bad after_bundle_seq', async () => {
    expectError(
      await t.req('GET', '/sync/watch?after_bundle_seq=0', {
        user: uniqueUser('never'),
        source: 'w',
      }),
      409,
      'scope_uninitialized',
    );
    const user = uniqueUser('badq');
    await t.initEmpty(user);
    for (const q of ['-1', 'x', '1.5']) {
      expectError(
        await t.req('GET', `/sync/watch?after_bundle_seq=${q}`, { user, source: 'w' }),
        400,
        'invalid_request',
      );
    }
  });

  it('an aborted request ends the stream without affecting the service', async () => {
    const user = uniqueUser('abort');
    await t.initEmpty(user);
    const ac = new AbortController();
    const res = await t.raw('GET', '/sync/watch?after_bundle_seq=0', {
      user,
      source: 'w',
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    ac.abort();
    await res.body?.cancel().catch(() => {});
    await t.pushOk(user, 'dev', 1, [userIns(uuid(1))]);
    const reader = await watch(t, user, 0);
    expect((await reader.nextBundle(5000)).bundle_seq).toBe(1);
    await reader.close();
  });

  it('sends heartbeat comments at the configured interval', async () => {
    const fast = await t.withService({ watch: { heartbeatMs: 100 } });
    const user = uniqueUser('heartbeat');
    await fast.initEmpty(user);
    const reader = await watch(fast, user, 0);
    expect(await reader.waitComment(/heartbeat/, 3000)).toMatch(/heartbeat/);
    await reader.close();
  });

  it('watch disabled: capabilities say false and /sync/watch answers 503 bundle_change_watch_disabled', async () => {
    const off = await t.withService({ watch: { enabled: false } });
    const user = uniqueUser('off');
    await off.initEmpty(user);
    const caps = await off.req('GET', '/sync/capabilities', { user, source: 'w' });
    expect(caps.json.features.bundle_change_watch).toBe(false);
    expectError(
      await off.req('GET', '/sync/watch?after_bundle_seq=0', { user, source: 'w' }),
      503,
      'bundle_change_watch_disabled',
    );
  });

  it('a watch policy denying an actor: capabilities false for them and 403 bundle_change_watch_forbidden', async () => {
    const policy = await t.withService({
      watch: { allowed: (actor) => !actor.userId.startsWith('blocked') },
    });
    const blocked = uniqueUser('blocked');
    const allowed = uniqueUser('allowed');
    await policy.initEmpty(blocked);
    await policy.initEmpty(allowed);
    const capsBlocked = await policy.req('GET', '/sync/capabilities', {
      user: blocked,
      source: 'w',
    });
    expect(capsBlocked.json.features.bundle_change_watch).toBe(false);
    const capsAllowed = await policy.req('GET', '/sync/capabilities', {
      user: allowed,
      source: 'w',
    });
    expect(capsAllowed.json.features.bundle_change_watch).toBe(true);
    expectError(
      await policy.req('GET', '/sync/watch?after_bundle_seq=0', { user: blocked, source: 'w' }),
      403,
      'bundle_change_watch_forbidden',
    );
    const reader = await watch(policy, allowed, 0);
    await reader.close();
  });

  describe('graceful close', () => {
    it('close() ends open watch streams and later requests get 503 service_unavailable', async () => {
      const closing = await t.withService({});
      const user = uniqueUser('close');
      await closing.initEmpty(user);
      const reader = await watch(closing, user, 0);
      await closing.service.close();
      expect(await reader.waitEnd(5000)).toBe(true);
      for (const [method, path] of [
        ['GET', '/sync/pull?after_bundle_seq=0'],
        ['POST', '/sync/connect'],
        ['GET', '/sync/capabilities'],
      ] as const) {
        const r = await closing.req(method, path, {
          user,
          source: 'w',
          body: method === 'POST' ? { has_local_pending_rows: false } : undefined,
        });
        expectError(r, 503, 'service_unavailable');
      }
      expect((await closing.req('GET', '/syncx/health')).status).toBe(503);
      // The other instance on the same database keeps working.
      const r = await t.pull(user, 'w', { after_bundle_seq: 0 });
      expect(r.status).toBe(200);
    });
  });
});
