/**
 * Model-based convergence property (fast-check): random interleavings of local writes
 * (insert/update/delete on a small key space) on 2–3 clients of the same user, pushes, pulls,
 * syncs, restarts (a new client object on the same file) and crashes in the middle of a push
 * always converge after a final sync round, and no write is lost or resurrected.
 *
 * Values are unique per write, so every committed server row can be traced to the write that
 * produced it. The model follows the server's bundle log after every operation and checks:
 *
 * 1. no lost update: a bundle row from client c on key k overwrites exactly the server state c
 *    had locally when it started editing k (server wins is the resolver, so a write based on a
 *    stale view must be rejected as a conflict, never committed over a newer value);
 * 2. content: the committed value is c's latest write of k;
 * 3. acknowledgement: after a push/sync that reported no conflict and left nothing pending,
 *    the server holds every key c had edited exactly as c last wrote it;
 * 4. convergence: after the final sync rounds every client equals the server (PostgreSQL) and
 *    nothing is pending, and the server equals the fold of its bundle log.
 *
 * Reproduce a failure with `FC_SEED=<seed> FC_PATH=<path>` (printed by fast-check).
 */

import { isOversyncClientError } from '@oversync/client';
import { BACKENDS, uniqueUser } from '@oversync/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTable, pgTable } from './support/compare.js';
import {
  Device,
  type E2eServer,
  type Endpoint,
  newId,
  startE2eServer,
  TempFiles,
} from './support/harness.js';

const KEYS = 4;
const NUM_RUNS = Number(process.env.FC_RUNS ?? 20);

type Command =
  | { t: 'write'; c: number; k: number; del: boolean }
  | { t: 'push' | 'pull' | 'sync' | 'restart'; c: number }
  | { t: 'crash'; c: number; endpoint: Endpoint; when: 'before' | 'after' };

const commandArb = (clients: number): fc.Arbitrary<Command> => {
  const c = fc.integer({ min: 0, max: clients - 1 });
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constant('write' as const),
        c,
        k: fc.integer({ min: 0, max: KEYS - 1 }),
        del: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
      }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('push' as const), c }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('pull' as const), c }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('sync' as const), c }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), c }) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('crash' as const),
        c,
        endpoint: fc.constantFrom<Endpoint>(
          'push_create',
          'push_chunk',
          'push_commit',
          'committed_rows',
          'pull',
        ),
        when: fc.constantFrom('before' as const, 'after' as const),
      }),
    },
  );
};

const scenarioArb = fc.integer({ min: 2, max: 3 }).chain((clients) =>
  fc.record({
    clients: fc.constant(clients),
    commands: fc.array(commandArb(clients), { minLength: 1, maxLength: 28 }),
  }),
);

/** Value of a key: the unique name written, or null for absent/deleted. */
type Val = string | null;

interface Chain {
  /** What the client had locally for the key when the edit chain began. */
  base: Val;
  /** The client's writes of the key since `base`, oldest first (the last one is current). */
  writes: Val[];
  /** Whether the current write has been seen committed in the bundle log. */
  committed: boolean;
}

const lastOf = (chain: Chain): Val => chain.writes[chain.writes.length - 1] ?? null;

class PropertyFailure extends Error {}

describe.each(BACKENDS)('convergence property [%s]', (backend) => {
  let server: E2eServer;
  const files = new TempFiles();

  beforeAll(async () => {
    server = await startE2eServer(backend);
  });
  afterAll(async () => {
    await server?.close();
    files.cleanup();
  });

  async function runScenario(scenario: { clients: number; commands: Command[] }): Promise<void> {
    const user = uniqueUser('prop');
    const keys = Array.from({ length: KEYS }, () => newId());
    const trace: string[] = [];
    const fail = (msg: string): never => {
      throw new PropertyFailure(`${msg}\ntrace:\n  ${trace.join('\n  ')}`);
    };
    const devices: Device[] = [];
    const chains: Map<string, Chain>[] = [];
    const sourceOf = new Map<string, number>();
    const serverState = new Map<string, Val>();
    let scanned = 0;
    let writes = 0;

    const open = async (i: number, file?: string): Promise<Device> => {
      const d = await Device.open(server, {
        user,
        file: file ?? files.file(`prop-${i}`),
        label: `c${i}`,
        limits: { uploadRows: 2, downloadBundles: 2 },
        retryAttempts: 1,
      });
      devices[i] = d;
      return d;
    };

    const rememberSource = async (i: number): Promise<void> => {
      const d = devices[i] as Device;
      sourceOf.set((await d.client.sourceInfo()).currentSourceId, i);
    };

    /** Folds new server bundles into the model, checking rules 1 and 2. */
    const scan = async (): Promise<void> => {
      const bundles = await server.bundles(user, scanned);
      for (const b of bundles) {
        scanned = Math.max(scanned, b.bundle_seq);
        const writer = sourceOf.get(b.source_id);
        if (writer === undefined) fail(`bundle ${b.bundle_seq} from unknown source ${b.source_id}`);
        for (const row of b.rows) {
          const k = row.key.id as string;
          const value: Val = row.op === 'DELETE' ? null : (row.payload.name as string);
          const chain = chains[writer as number]?.get(k);
          const prev = serverState.get(k) ?? null;
          if (!chain) {
            fail(
              `c${writer} uploaded ${row.op} ${k}=${value} in bundle ${b.bundle_seq} without a local edit`,
            );
          } else {
            if (chain.base !== prev) {
              fail(
                `lost update: c${writer} committed ${row.op} ${k}=${value} (bundle ${b.bundle_seq}) over server value ${prev}, but its edit was based on ${chain.base}`,
              );
            }
            // A frozen bundle carries the value current at freeze time; later writes follow.
            const at = chain.writes.indexOf(value);
            if (at === -1) {
              fail(
                `c${writer} committed ${k}=${value} which is not one of its pending writes ${JSON.stringify(chain.writes)}`,
              );
            }
            // Committed: later edits of this key build on this value.
            chain.base = value;
            chain.writes = chain.writes.slice(at + 1);
            chain.committed = chain.writes.length === 0;
            if (chain.committed) chain.writes = [value];
          }
          serverState.set(k, value);
        }
      }
    };

    /**
     * After a push/sync of client i: rule 3 when it succeeded without conflicts and left nothing
     * pending, then drop the model's edit chains of keys the client no longer has pending (they
     * were committed, or discarded by a resolved conflict — also inside an operation that failed
     * later, e.g. in its pull phase). Pending keys are read from the documented runtime tables.
     */
    const afterPush = async (i: number, ok: { conflicts: number } | undefined): Promise<void> => {
      const d = devices[i] as Device;
      const mine = chains[i] as Map<string, Chain>;
      const rows = await d.all<{ key_json: string }>(
        `SELECT key_json FROM _sync_dirty_rows WHERE table_name = 'users'
         UNION SELECT key_json FROM _sync_outbox_rows WHERE table_name = 'users'`,
      );
      const pendingKeys = new Set(rows.map((r) => (JSON.parse(r.key_json) as { id: string }).id));
      if (ok && ok.conflicts === 0 && pendingKeys.size === 0 && (await d.pending()) === 0) {
        for (const [k, chain] of mine) {
          // Already acknowledged earlier, or a net no-op (e.g. insert then delete offline).
          if (chain.committed || chain.base === lastOf(chain)) continue;
          const server = serverState.get(k) ?? null;
          if (server !== lastOf(chain)) {
            fail(
              `c${i} push reported no conflict and nothing pending, but the server has ${k}=${server} instead of its write ${lastOf(chain)}`,
            );
          }
        }
      }
      for (const k of [...mine.keys()]) if (!pendingKeys.has(k)) mine.delete(k);
    };

    try {
      for (let i = 0; i < scenario.clients; i++) {
        chains[i] = new Map();
        const d = await open(i);
        const outcome = await d.attach();
        trace.push(`c${i} attach → ${outcome}`);
        await rememberSource(i);
      }

      for (const cmd of scenario.commands) {
        const i = cmd.c;
        let d = devices[i] as Device;
        const mine = chains[i] as Map<string, Chain>;
        switch (cmd.t) {
          case 'write': {
            const k = keys[cmd.k] as string;
            const current = (await d.userName(k)) ?? null;
            let next: Val;
            if (cmd.del) {
              if (current === null) {
                trace.push(`c${i} delete ${cmd.k} (absent, skipped)`);
                continue;
              }
              await d.deleteUser(k);
              next = null;
            } else {
              next = `c${i}w${++writes}`;
              if (current === null) await d.insertUser(k, next);
              else await d.updateUser(k, next);
            }
            const chain = mine.get(k);
            if (chain) {
              if (chain.committed) chain.writes = [];
              chain.writes.push(next);
              chain.committed = false;
            } else {
              mine.set(k, { base: current, writes: [next], committed: false });
            }
            trace.push(`c${i} write ${cmd.k}: ${current} → ${next}`);
            break;
          }
          case 'push':
          case 'sync': {
            try {
              const conflicts =
                cmd.t === 'push'
                  ? (await d.client.pushPending()).conflictsResolved
                  : (await d.client.sync()).push.conflictsResolved;
              trace.push(`c${i} ${cmd.t} ok (conflicts ${conflicts})`);
              await scan();
              await afterPush(i, { conflicts });
            } catch (error) {
              trace.push(`c${i} ${cmd.t} failed: ${String(error)}`);
              if (!isOversyncClientError(error, 'push_conflict_retry_exhausted')) throw error;
              await scan();
              await afterPush(i, undefined);
            }
            break;
          }
          case 'pull': {
            const r = await d.client.pullToStable();
            trace.push(`c${i} pull → ${r.outcome}`);
            break;
          }
          case 'restart': {
            d = await d.reopen();
            devices[i] = d;
            const outcome = await d.attach();
            if (outcome !== 'resumed_attached_state') fail(`c${i} restart attach → ${outcome}`);
            trace.push(`c${i} restart`);
            break;
          }
          case 'crash': {
            d.net.arm({ endpoint: cmd.endpoint, when: cmd.when, mode: 'kill' });
            let conflicts: number | undefined;
            const r = await d.client
              .sync()
              .then((x) => {
                conflicts = x.push.conflictsResolved;
                return `ok (conflicts ${conflicts})`;
              })
              .catch((e: unknown) => `failed: ${String(e)}`);
            trace.push(`c${i} crash ${cmd.when} ${cmd.endpoint} (fired ${d.net.fired}): sync ${r}`);
            await scan();
            await afterPush(i, conflicts === undefined ? undefined : { conflicts });
            d = await d.reopen();
            devices[i] = d;
            await d.attach();
            break;
          }
        }
      }

      // Final rounds: everyone syncs until nothing is pending anywhere, then once more.
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < scenario.clients; i++) {
          const d = devices[i] as Device;
          try {
            const r = await d.client.sync();
            await scan();
            await afterPush(i, { conflicts: r.push.conflictsResolved });
          } catch (error) {
            if (!isOversyncClientError(error, 'push_conflict_retry_exhausted')) throw error;
            await scan();
            await afterPush(i, undefined);
          }
        }
        let pending = 0;
        for (const d of devices) pending += await d.pending();
        if (pending === 0) break;
      }
      for (const d of devices) await d.client.sync();
      await scan();

      // Rule 4.
      const remote = await pgTable(server.t.database.query.bind(server.t.database), user, 'users');
      const folded = [...serverState.entries()]
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, v])
        .sort();
      expect(
        remote.map((r) => [r.id, r.name]).sort(),
        'server rows equal the fold of the bundle log',
      ).toEqual(folded);
      const stable = await server.stableSeq(user);
      for (const [i, d] of devices.entries()) {
        const local = await localTable(d, 'users');
        if (JSON.stringify(local) !== JSON.stringify(remote)) {
          fail(
            `c${i} did not converge:\n local ${JSON.stringify(local.map((r) => [r.id, r.name]))}\n server ${JSON.stringify(remote.map((r) => [r.id, r.name]))}`,
          );
        }
        const status = await d.client.syncStatus();
        if (status.pending.pendingRowCount !== 0)
          fail(`c${i} still has ${status.pending.pendingRowCount} pending`);
        if (status.lastBundleSeqSeen !== stable) {
          fail(`c${i} checkpoint ${status.lastBundleSeqSeen} != server stable ${stable}`);
        }
      }
    } finally {
      for (const d of devices) await d?.close();
    }
  }

  it('random interleavings of writes, pushes, pulls, syncs, restarts and crashes converge', async () => {
    const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
    const path = process.env.FC_PATH;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        await runScenario(scenario);
      }),
      {
        numRuns: NUM_RUNS,
        ...(seed === undefined ? {} : { seed }),
        ...(path === undefined ? {} : { path }),
        // Each run talks to a real server; shrinking a failure is opt-in (FC_SHRINK=1).
        endOnFailure: process.env.FC_SHRINK !== '1',
        verbose: 1,
      },
    );
    console.log(`[${backend}] ${NUM_RUNS} convergence runs in ${Date.now() - started} ms`);
  }, 600_000);
});
