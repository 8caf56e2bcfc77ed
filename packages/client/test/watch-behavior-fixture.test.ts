/**
 * Fixture `watch/behavior/automatic-downloads.json`: one test per case, driving the real
 * `startAutomaticDownloads` loop against the scripted server of `support/fixture-server.ts`
 * (watch bodies are `ReadableStream`s the test controls: scripted lines then EOF, or held open).
 *
 * Time is virtual: the client gets an injected `sleep`/`now`/`random`, and every wait of the
 * loop (reconnect backoff, poll interval) parks on a {@link ManualClock} until the runner fires
 * it. The runner mirrors the SQLiteNow one (`watch_behavior_fixture_test.dart`): it lets the
 * loop run — firing a parked wait only when the loop is idle and the expected state is not
 * reached yet — until the case's expectations hold, observes for `observeForMillis` of virtual
 * time, optionally stops the handle, then asserts. "Idle" means parked in a wait, parked on a
 * held-open stream read, or stopped, so assertions never race a transaction in flight.
 *
 * Counters: `watchAttempts` = `GET /sync/watch` requests (with their `after_bundle_seq`),
 * `fallbackPulls` = `GET /sync/pull` requests, `watchCloseCount` = watch response bodies the
 * client released (cancelled, or read to their end).
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import type { AutomaticDownloadsHandle, OversyncClient, SqliteDriver } from '../src/index.js';
import { openFixtureDb, readAppTable } from './support/fixture-db.js';
import {
  applyServerScript,
  createFixtureClient,
  FixtureServer,
  type ServerScript,
  scriptBundles,
} from './support/fixture-server.js';

interface WatchExpectations {
  watchCloseCount?: number;
  fallbackPullsAtLeast?: number;
  fallbackPullsExactly?: number;
  watchAttemptsAtLeast?: number;
  watchAttemptsExactly?: number;
  watchAfterBundleSeqsContains?: number[];
  users?: { id: string; name: string }[];
  observeForMillis?: number;
  stopActiveWatchBeforeAssert?: boolean;
}

interface WatchCase {
  name: string;
  description: string;
  serverScript: ServerScript;
  expectedState: WatchExpectations;
}

const FILE = 'watch/behavior/automatic-downloads.json';
const KNOWN_EXPECTATIONS = new Set([
  'watchCloseCount',
  'fallbackPullsAtLeast',
  'fallbackPullsExactly',
  'watchAttemptsAtLeast',
  'watchAttemptsExactly',
  'watchAfterBundleSeqsContains',
  'users',
  'observeForMillis',
  'stopActiveWatchBeforeAssert',
]);

/** Client watch settings (the defaults; the clock makes their size irrelevant to run time). */
const WATCH = {
  pollIntervalMs: 60_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  healthyStreamMs: 30_000,
};

interface Sleeper {
  readonly at: number;
  readonly ms: number;
  readonly resolve: () => void;
}

/** Virtual time: `sleep` parks until {@link ManualClock.fireNext} / {@link ManualClock.advance}. */
class ManualClock {
  time = 0;
  readonly requested: number[] = [];
  readonly #sleepers: Sleeper[] = [];

  readonly now = (): number => this.time;

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.requested.push(ms);
      if (signal?.aborted) {
        reject(signal.reason ?? new Error('aborted'));
        return;
      }
      const sleeper: Sleeper = {
        at: this.time + ms,
        ms,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#remove(sleeper);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });

  get pending(): number {
    return this.#sleepers.length;
  }

  /** Jumps to the earliest pending wait and ends it. */
  fireNext(): boolean {
    const next = [...this.#sleepers].sort((a, b) => a.at - b.at)[0];
    if (!next) return false;
    this.#remove(next);
    this.time = Math.max(this.time, next.at);
    next.resolve();
    return true;
  }

  /** Moves time forward by `ms`, ending every wait that falls due (returns how many). */
  advance(ms: number): number {
    this.time += ms;
    const due = this.#sleepers.filter((s) => s.at <= this.time);
    for (const s of due) {
      this.#remove(s);
      s.resolve();
    }
    return due.length;
  }

  #remove(s: Sleeper): void {
    const i = this.#sleepers.indexOf(s);
    if (i >= 0) this.#sleepers.splice(i, 1);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Env {
  readonly db: SqliteDriver;
  readonly server: FixtureServer;
  readonly client: OversyncClient;
  readonly clock: ManualClock;
  handle?: AutomaticDownloadsHandle;
}

/** True when the loop cannot make progress on its own. */
function idle(env: Env): boolean {
  return env.clock.pending > 0 || env.server.watchParked || env.handle?.running === false;
}

/** Ticks until the loop is idle (bounded). */
async function settle(env: Env): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    await tick();
    if (idle(env)) {
      // A couple more turns so a just-resolved read or wait has been observed.
      await tick();
      await tick();
      if (idle(env)) return;
    }
  }
  throw new Error('automatic downloads never became idle');
}

async function reached(env: Env, e: WatchExpectations): Promise<boolean> {
  const s = env.server;
  for (const user of e.users ?? []) {
    const rows = await env.db.all('SELECT 1 AS x FROM users WHERE id = ? AND name = ?', [
      user.id,
      user.name,
    ]);
    if (rows.length !== 1) return false;
  }
  const attempts = s.watchAfterBundleSeqs.length;
  if (e.watchAttemptsAtLeast !== undefined && attempts < e.watchAttemptsAtLeast) return false;
  if (e.watchAttemptsExactly !== undefined && attempts !== e.watchAttemptsExactly) return false;
  for (const seq of e.watchAfterBundleSeqsContains ?? []) {
    if (!s.watchAfterBundleSeqs.includes(seq)) return false;
  }
  if (e.fallbackPullsAtLeast !== undefined && s.pullRequestCount < e.fallbackPullsAtLeast)
    return false;
  if (e.fallbackPullsExactly !== undefined && s.pullRequestCount !== e.fallbackPullsExactly)
    return false;
  return true;
}

/** Lets the loop run, firing parked waits while `done` is false; fails after `maxWaits` waits. */
async function runUntil(
  env: Env,
  done: () => Promise<boolean>,
  what: string,
  maxWaits = 20,
): Promise<void> {
  for (let fired = 0; ; fired++) {
    await settle(env);
    if (await done()) return;
    if (fired >= maxWaits || !env.clock.fireNext()) {
      throw new Error(
        `${what} not reached (pulls ${env.server.pullRequestCount}, watch after ${JSON.stringify(env.server.watchAfterBundleSeqs)}, closes ${env.server.watchCloseCount}, waits ${JSON.stringify(env.clock.requested)})`,
      );
    }
  }
}

async function runCase(c: WatchCase): Promise<void> {
  const e = c.expectedState;
  for (const key of Object.keys(e)) {
    if (!KNOWN_EXPECTATIONS.has(key)) throw new Error(`unsupported expectedState key "${key}"`);
  }
  const db = await openFixtureDb('users');
  const server = new FixtureServer({ tables: [{ tableName: 'users', syncKeyColumnName: 'id' }] });
  const clock = new ManualClock();
  const client = createFixtureClient(db, server, {
    sleep: clock.sleep,
    now: clock.now,
    random: () => 0,
    watch: WATCH,
  });
  const env: Env = { db, server, client, clock };
  try {
    await client.open();
    expect((await client.attach('user-1')).status).toBe('connected');
    await applyServerScript(server, c.serverScript);
    env.handle = client.startAutomaticDownloads();

    const wakeBundles = scriptBundles(c.serverScript.wakeBundles);
    if (wakeBundles.length > 0) {
      // Delivered while the stream is open, as a server-originated write would be.
      await runUntil(env, async () => server.watchParked, 'an open watch stream');
      for (const rows of wakeBundles) server.addRemoteBundle(rows);
    }

    await runUntil(env, () => reached(env, e), `expected state of ${c.name}`);

    if (e.observeForMillis !== undefined) {
      // Observe at least one whole poll interval of virtual time: a timer fallback would fire.
      const span = Math.max(e.observeForMillis, WATCH.pollIntervalMs + WATCH.reconnectMaxMs);
      expect(clock.advance(span), 'no wait was due while the stream was healthy').toBe(0);
      await settle(env);
    }
    if (e.stopActiveWatchBeforeAssert) {
      const openBodies = server.watchBodies.filter((b) => !b.closed);
      expect(openBodies.length, 'an active watch stream before stop').toBe(1);
      await env.handle.stop();
      expect(env.handle.running, 'stopped').toBe(false);
      expect(
        openBodies.every((b) => b.closed),
        'stop cancelled the active watch stream',
      ).toBe(true);
    }

    // Assertions (the SQLiteNow runner's `_assertWatchState`).
    if (e.watchCloseCount !== undefined)
      expect(server.watchCloseCount, 'watchCloseCount').toBe(e.watchCloseCount);
    if (e.fallbackPullsAtLeast !== undefined) {
      expect(server.pullRequestCount, 'fallbackPullsAtLeast').toBeGreaterThanOrEqual(
        e.fallbackPullsAtLeast,
      );
    }
    if (e.fallbackPullsExactly !== undefined) {
      expect(server.pullRequestCount, 'fallbackPullsExactly').toBe(e.fallbackPullsExactly);
    }
    const attempts = server.watchAfterBundleSeqs.length;
    if (e.watchAttemptsAtLeast !== undefined) {
      expect(attempts, 'watchAttemptsAtLeast').toBeGreaterThanOrEqual(e.watchAttemptsAtLeast);
    }
    if (e.watchAttemptsExactly !== undefined)
      expect(attempts, 'watchAttemptsExactly').toBe(e.watchAttemptsExactly);
    for (const seq of e.watchAfterBundleSeqsContains ?? []) {
      expect(server.watchAfterBundleSeqs, 'watchAfterBundleSeqsContains').toContain(seq);
    }
    if (e.users !== undefined) {
      const users = await readAppTable(db, 'users');
      for (const user of e.users) expect(users).toContainEqual(user);
    }
    // Every watch and pull went out under the attached source.
    const source = (await db.get('SELECT current_source_id AS s FROM _sync_attachment_state'))?.s;
    for (const r of server.requests) {
      if (r.operation === 'watch' || r.operation === 'pull') expect(r.sourceId).toBe(source);
    }
    // Fallback pulls are the only recovery: no terminal error ended the loop.
    if (!e.stopActiveWatchBeforeAssert) expect(env.handle.running, 'still running').toBe(true);
  } finally {
    await env.handle?.stop();
    await client.close();
    await db.close();
  }
}

describe.skipIf(!contractsAvailable())(contractsAvailable() ? FILE : FIXTURES_ABSENT, () => {
  if (!contractsAvailable()) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const cases = (loadContract(FILE) as { cases: WatchCase[] }).cases;
  if (cases.length === 0) it('has cases', () => expect.fail(`${FILE} has no cases`));
  for (const c of cases) it(c.name, () => runCase(c));
});
