/**
 * Unit tests of the in-process watch fan-out (`WatchHub`): one-slot coalescing buffer,
 * dropping of stale events, catch-up after a listener reconnect, and close.
 */

import { WATCH_NOTIFY_CHANNEL } from '@oversync/protocol';
import {
  BACKENDS,
  SseReader,
  startTestServer,
  type TestServer,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommittedBundle } from '../src/capture/bundle-writer.js';
import type { QueryResult, SyncDatabase } from '../src/db/sync-database.js';
import type { Logger } from '../src/util/logger.js';
import { type WatchEvent, WatchHub, type WatchSubscriber } from '../src/watch/watch-hub.js';

interface FakeDb {
  db: SyncDatabase;
  queries: { sql: string; params: readonly unknown[] }[];
  listeners: { channel: string; onPayload: (payload: string) => void }[];
  unlistened: number;
  /** Latest bundle per user_pk, as `sync.user_state` would report it. */
  latest: Record<string, string>;
}

function fakeDb(latest: Record<string, string> = {}): FakeDb {
  const fake: FakeDb = {
    db: undefined as unknown as SyncDatabase,
    queries: [],
    listeners: [],
    unlistened: 0,
    latest,
  };
  const query = async <R>(sql: string, params: readonly unknown[] = []) => {
    fake.queries.push({ sql, params });
    if (sql.includes('sync.user_state')) {
      const pks = params[0] as string[];
      const rows = pks
        .filter((pk) => fake.latest[pk] !== undefined)
        .map((pk) => ({ user_pk: pk, latest: fake.latest[pk] }));
      return { rows, rowCount: rows.length } as unknown as QueryResult<R>;
    }
    return { rows: [], rowCount: 0 } as QueryResult<R>;
  };
  const db: SyncDatabase = {
    kind: 'pglite',
    query,
    async exec() {},
    async transaction(fn) {
      return fn(db);
    },
    async listen(channel, onPayload) {
      fake.listeners.push({ channel, onPayload });
      return async () => {
        fake.unlistened += 1;
      };
    },
    async close() {},
  };
  fake.db = db;
  return fake;
}

interface TestSub extends WatchSubscriber {
  wakes: number;
}

/** A subscriber that never drains its slot by itself (a slow stream). */
function slowSub(lastSeq = 0n): TestSub {
  const s: TestSub = {
    lastSeq,
    pending: null,
    closed: false,
    wakes: 0,
    wake() {
      s.wakes += 1;
    },
  };
  return s;
}

/** A subscriber that delivers on every wake-up (a fast stream), recording what it delivered. */
function fastSub(lastSeq = 0n): TestSub & { delivered: WatchEvent[] } {
  const s: TestSub & { delivered: WatchEvent[] } = {
    lastSeq,
    pending: null,
    closed: false,
    wakes: 0,
    delivered: [],
    wake() {
      s.wakes += 1;
      const e = take(s);
      if (e) s.delivered.push(e);
    },
  };
  return s;
}

/** What a stream's flush does: takes the pending event out of the slot. */
function take(s: WatchSubscriber): WatchEvent | null {
  const e = s.pending;
  s.pending = null;
  return e;
}

function recordingLogger(): Logger & { warnings: unknown[] } {
  const warnings: unknown[] = [];
  return {
    warnings,
    debug() {},
    info() {},
    warn(obj) {
      warnings.push(obj);
    },
    error() {},
  };
}

function ev(seq: number, source = 'dev'): WatchEvent {
  return { bundleSeq: BigInt(seq), sourceId: source, sourceBundleId: String(seq) };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('WatchHub', () => {
  it('a slow subscriber receives only the newest undelivered event; a fast one receives each', () => {
    const hub = new WatchHub(fakeDb().db, recordingLogger());
    const slow = slowSub();
    const fast = fastSub();
    hub.subscribe('1', slow, 'user-1');
    hub.subscribe('1', fast, 'user-1');
    for (const n of [1, 2, 3]) hub.publish('1', ev(n));

    expect(take(slow)).toEqual(ev(3));
    expect(take(slow)).toBeNull();
    expect(slow.lastSeq).toBe(3n);
    expect(fast.delivered).toEqual([ev(1), ev(2), ev(3)]);
    expect(fast.lastSeq).toBe(3n);

    // After draining, the next event fills the slot again.
    hub.publish('1', ev(4));
    expect(take(slow)).toEqual(ev(4));
    expect(fast.delivered.at(-1)).toEqual(ev(4));
  });

  it('drops events at or below lastSeq, and never lets an older event replace a newer pending one', () => {
    const hub = new WatchHub(fakeDb().db, recordingLogger());
    const s = slowSub(5n);
    hub.subscribe('1', s);
    hub.publish('1', ev(3));
    hub.publish('1', ev(5));
    expect(s.pending).toBeNull();
    expect(s.wakes).toBe(0);

    hub.publish('1', ev(6));
    expect(s.wakes).toBe(1);
    expect(take(s)).toEqual(ev(6));
    hub.publish('1', ev(6));
    hub.publish('1', ev(4));
    expect(s.pending).toBeNull();
    expect(s.wakes).toBe(1);

    hub.publish('1', ev(8));
    hub.publish('1', ev(7));
    expect(take(s)).toEqual(ev(8));
    expect(s.lastSeq).toBe(8n);
  });

  it("events of one user never reach another user's subscribers", () => {
    const hub = new WatchHub(fakeDb().db, recordingLogger());
    const a = slowSub();
    const b = slowSub();
    hub.subscribe('1', a, 'user-a');
    hub.subscribe('2', b, 'user-b');
    hub.publish('2', ev(1));
    expect(a.pending).toBeNull();
    expect(a.wakes).toBe(0);
    expect(take(b)).toEqual(ev(1));
  });

  it('catchUp republishes the latest bundle of every watched user (only when newer)', async () => {
    const fake = fakeDb({ '1': '5', '2': '7', '3': '0' });
    const hub = new WatchHub(fake.db, recordingLogger());

    // Nobody watches: no query at all.
    await hub.catchUp();
    expect(fake.queries).toHaveLength(0);

    const behind = slowSub(2n);
    const ahead = slowSub(9n);
    const empty = slowSub(0n);
    hub.subscribe('1', behind);
    hub.subscribe('2', ahead);
    hub.subscribe('3', empty);
    await hub.catchUp();

    expect(fake.queries).toHaveLength(1);
    expect([...((fake.queries[0]?.params[0] ?? []) as string[])].sort()).toEqual(['1', '2', '3']);
    expect(take(behind)).toEqual({ bundleSeq: 5n });
    expect(ahead.pending).toBeNull();
    expect(ahead.wakes).toBe(0);
    expect(empty.pending).toBeNull();
    expect(empty.wakes).toBe(0);

    // A second catch-up with nothing new wakes nobody.
    await hub.catchUp();
    expect(behind.pending).toBeNull();
    expect(behind.wakes).toBe(1);
  });

  it('the NOTIFY listener publishes other processes’ bundles and catches up on an empty (reconnect) payload', async () => {
    const fake = fakeDb({ '1': '4' });
    const logger = recordingLogger();
    const hub = new WatchHub(fake.db, logger);
    await hub.start();
    expect(fake.listeners.map((l) => l.channel)).toEqual([WATCH_NOTIFY_CHANNEL]);
    const onPayload = fake.listeners[0]?.onPayload as (p: string) => void;

    const s = slowSub();
    hub.subscribe('1', s);
    onPayload(
      JSON.stringify({ user_pk: '1', bundle_seq: '2', source_id: 'far', source_bundle_id: '9' }),
    );
    expect(take(s)).toEqual({ bundleSeq: 2n, sourceId: 'far', sourceBundleId: '9' });

    onPayload('not json');
    expect(logger.warnings).toHaveLength(1);
    expect(s.pending).toBeNull();

    onPayload('');
    await tick();
    expect(take(s)).toEqual({ bundleSeq: 4n });
  });

  it('announce publishes here first and then sends pg_notify with the bundle', async () => {
    const fake = fakeDb();
    const hub = new WatchHub(fake.db, recordingLogger());
    const s = slowSub();
    hub.subscribe('7', s);
    const bundle: CommittedBundle = {
      userPk: '7',
      bundleSeq: '3',
      sourceId: 'dev',
      sourceBundleId: '2',
      rowCount: 1,
      byteCount: 10,
      bundleHash: 'h',
      requestHash: null,
    };
    hub.announce(bundle);
    expect(take(s)).toEqual({ bundleSeq: 3n, sourceId: 'dev', sourceBundleId: '2' });
    await tick();
    const notify = fake.queries.find((q) => q.sql.includes('pg_notify'));
    expect(notify?.params[0]).toBe(WATCH_NOTIFY_CHANNEL);
    expect(JSON.parse(notify?.params[1] as string)).toEqual({
      user_pk: '7',
      bundle_seq: '3',
      source_id: 'dev',
      source_bundle_id: '2',
    });
  });

  it('unsubscribe and countByUserId', () => {
    const hub = new WatchHub(fakeDb().db, recordingLogger());
    const a = slowSub();
    const b = slowSub();
    const offA = hub.subscribe('1', a, 'user-1');
    hub.subscribe('1', b, 'user-1');
    expect(hub.countByUserId('user-1')).toBe(2);
    expect(hub.countByUserId('nobody')).toBe(0);
    offA();
    expect(hub.countByUserId('user-1')).toBe(1);
    hub.publish('1', ev(1));
    expect(a.pending).toBeNull();
    expect(take(b)).toEqual(ev(1));
  });

  it('close ends every subscriber, stops listening, and later events reach nobody', async () => {
    const fake = fakeDb();
    const hub = new WatchHub(fake.db, recordingLogger());
    await hub.start();
    const a = slowSub();
    const b = slowSub();
    hub.subscribe('1', a, 'user-1');
    hub.subscribe('2', b, 'user-2');
    await hub.close();
    expect([a.closed, b.closed]).toEqual([true, true]);
    expect([a.wakes, b.wakes]).toEqual([1, 1]);
    expect(fake.unlistened).toBe(1);
    expect(hub.countByUserId('user-1')).toBe(0);
    hub.publish('1', ev(1));
    hub.publish('2', ev(1));
    expect([a.pending, b.pending]).toEqual([null, null]);
    expect([a.wakes, b.wakes]).toEqual([1, 1]);
  });
});

describe.each(BACKENDS)('watch stream coalescing [%s]', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ backend, serviceOptions: { retention: { pruneIntervalMs: 0 } } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a stream that is not read while three commits land gets the newest event, not all three', async () => {
    const user = uniqueUser('slowstream');
    await t.initEmpty(user);
    const res = await t.raw('GET', '/sync/watch?after_bundle_seq=0', { user, source: 'watcher' });
    expect(res.status).toBe(200);
    // Nobody reads the stream while the commits land.
    for (let i = 1; i <= 3; i++) await t.pushOk(user, 'pusher', i, [userIns(uuid(i))]);
    const reader = new SseReader(res.body as ReadableStream<Uint8Array>);
    const seen: number[] = [];
    try {
      for (;;) seen.push((await reader.nextBundle(300)).bundle_seq);
    } catch (err) {
      expect(String(err)).toMatch(/no event/);
    } finally {
      await reader.close();
    }
    expect(seen.at(-1)).toBe(3);
    // docs/protocol.md §2.9: one-slot buffer per stream, a newer undelivered event replaces an
    // older one; so the three wake-ups must have been coalesced.
    expect(seen.length, `delivered ${JSON.stringify(seen)}`).toBeLessThan(3);
  });
});
