/**
 * A client "killed" at every push, pull and snapshot step: the injected fetch fails right before
 * a chosen request reaches the server, or right after the server handled it (the response is
 * lost), and from then on every request fails (the process is dead). A NEW client is then
 * constructed over the same SQLite file and syncs. Nothing may be lost and nothing duplicated:
 * the server holds exactly the intended rows in exactly the expected number of bundles, and
 * every device converges.
 */

import { BACKENDS, uniqueUser } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Device,
  type E2eServer,
  type Endpoint,
  expectConverged,
  type Fault,
  newId,
  startE2eServer,
  TempFiles,
} from './support/harness.js';

interface Step {
  readonly endpoint: Endpoint;
  readonly nth?: number;
}

const PUSH_STEPS: readonly Step[] = [
  { endpoint: 'push_create' },
  { endpoint: 'push_chunk', nth: 1 },
  { endpoint: 'push_chunk', nth: 2 },
  { endpoint: 'push_chunk', nth: 3 },
  { endpoint: 'push_commit' },
  { endpoint: 'committed_rows', nth: 1 },
  { endpoint: 'committed_rows', nth: 3 },
  { endpoint: 'pull' },
];

const PULL_STEPS: readonly Step[] = [
  { endpoint: 'pull', nth: 1 },
  { endpoint: 'pull', nth: 2 },
  { endpoint: 'pull', nth: 3 },
];

const SNAPSHOT_STEPS: readonly Step[] = [
  { endpoint: 'connect' },
  { endpoint: 'snapshot_create' },
  { endpoint: 'snapshot_chunk', nth: 1 },
  { endpoint: 'snapshot_chunk', nth: 2 },
  { endpoint: 'snapshot_chunk', nth: 3 },
  { endpoint: 'snapshot_delete' },
];

const WHEN = ['before', 'after'] as const;

function cases(steps: readonly Step[]): [string, Fault][] {
  return steps.flatMap((s) =>
    WHEN.map((when): [string, Fault] => [
      `${when} ${s.endpoint}${s.nth ? ` #${s.nth}` : ''}`,
      { endpoint: s.endpoint, nth: s.nth ?? 1, when, mode: 'kill' },
    ]),
  );
}

describe.each(BACKENDS)('crash and resume e2e [%s]', (backend) => {
  let server: E2eServer;
  const files = new TempFiles();
  const open: Device[] = [];

  beforeAll(async () => {
    server = await startE2eServer(backend);
  });
  afterAll(async () => {
    for (const d of open) await d.close();
    await server?.close();
    files.cleanup();
  });

  async function track(p: Promise<Device>): Promise<Device> {
    const d = await p;
    open.push(d);
    return d;
  }

  /** Small pages so every step has several requests: 2 rows per chunk / committed page. */
  const SMALL = { uploadRows: 2, downloadBundles: 2, snapshotChunkRows: 3 } as const;

  describe('push', () => {
    it.each(cases(PUSH_STEPS))('killed %s', async (_name, fault) => {
      const user = uniqueUser('kill-push');
      const a = await track(
        Device.open(server, { user, file: files.file('kp-a'), label: 'a', limits: SMALL }),
      );
      const watcher = await track(
        Device.open(server, { user, file: files.file('kp-w'), label: 'w' }),
      );
      await a.attach();
      const keep = newId();
      const gone = newId();
      await a.insertUser(keep, 'keep');
      await a.insertUser(gone, 'gone');
      await a.client.sync();
      await watcher.attach();
      const baseline = await server.stableSeq(user);

      // Five rows → three chunks and three committed-row pages.
      const fresh = [newId(), newId(), newId()];
      for (const [i, id] of fresh.entries()) await a.insertUser(id, `new-${i}`);
      await a.updateUser(keep, 'keep-updated');
      await a.deleteUser(gone);

      a.net.arm(fault);
      await expect(a.client.sync()).rejects.toThrow();
      expect(a.net.fired, 'the fault fired').toBe(true);
      expect((await server.bundles(user, baseline)).length).toBeLessThanOrEqual(1);

      // A new process over the same file: resume, write more, sync.
      const a2 = await track(a.reopen());
      expect(await a2.attach()).toBe('resumed_attached_state');
      const later = newId();
      await a2.insertUser(later, 'written-after-restart');
      await a2.client.sync();
      await a2.client.sync();
      await watcher.client.sync();

      const remote = await expectConverged(server, user, [a2, watcher]);
      expect(remote.users.map((u) => u.name).sort()).toEqual(
        ['keep-updated', 'new-0', 'new-1', 'new-2', 'written-after-restart'].sort(),
      );
      // Exactly the frozen bundle (5 rows) and the later one (1 row): nothing pushed twice.
      const bundles = await server.bundles(user, baseline);
      expect(bundles.map((b) => b.rows.length)).toEqual([5, 1]);
      const sources = new Set(bundles.map((b) => `${b.source_id}/${b.source_bundle_id}`));
      expect(sources.size).toBe(2);
    });

    it.each(
      cases([{ endpoint: 'push_commit' }, { endpoint: 'committed_rows' }]).map(
        ([name, f]): [string, Fault] => [name, { ...f, mode: 'blip' }],
      ),
    )('a single lost request %s is retried within the same process', async (_name, fault) => {
      const user = uniqueUser('blip');
      const a = await track(
        Device.open(server, { user, file: files.file('bl-a'), label: 'a', retryAttempts: 3 }),
      );
      await a.attach();
      await a.insertUser(newId(), 'x');
      await a.insertUser(newId(), 'y');
      a.net.arm(fault);
      // The operation may succeed through retry or fail; either way the next sync converges.
      await a.client.sync().catch(() => undefined);
      expect(a.net.fired).toBe(true);
      await a.client.sync();
      await expectConverged(server, user, [a]);
      const bundles = await server.bundles(user);
      expect(bundles.map((b) => b.rows.length)).toEqual([2]);
    });
  });

  describe('pull', () => {
    it.each(cases(PULL_STEPS))('killed %s', async (_name, fault) => {
      const user = uniqueUser('kill-pull');
      const w = await track(Device.open(server, { user, file: files.file('kl-w'), label: 'w' }));
      const r = await track(
        Device.open(server, {
          user,
          file: files.file('kl-r'),
          label: 'r',
          limits: { downloadBundles: 1 },
        }),
      );
      await w.attach();
      const k = newId();
      await w.insertUser(k, 'v0');
      await w.client.sync();
      await r.attach();
      // Three bundles to pull, one per page; r has an unsynced edit of its own.
      await w.updateUser(k, 'v1');
      await w.client.sync();
      await w.insertUser(newId(), 'second');
      await w.client.sync();
      await w.run('INSERT INTO categories(id, name) VALUES (?, ?)', [newId(), 'third']);
      await w.client.sync();
      const mine = newId();
      await r.insertUser(mine, 'r-own');

      r.net.arm(fault);
      await expect(r.client.sync()).rejects.toThrow();
      expect(r.net.fired).toBe(true);
      const r2 = await track(r.reopen());
      await r2.attach();
      await r2.client.sync();
      await w.client.sync();
      const remote = await expectConverged(server, user, [w, r2]);
      expect(remote.users.map((u) => u.name).sort()).toEqual(['r-own', 'second', 'v1']);
      expect(remote.categories).toHaveLength(1);
      const own = (await server.bundles(user)).filter((b) =>
        b.rows.some((row: { key: { id: string } }) => row.key.id === mine),
      );
      expect(own).toHaveLength(1);
    });
  });

  describe('snapshot (attach to an existing account)', () => {
    it.each(cases(SNAPSHOT_STEPS))('killed %s', async (_name, fault) => {
      const user = uniqueUser('kill-snap');
      const w = await track(Device.open(server, { user, file: files.file('ks-w'), label: 'w' }));
      await w.attach();
      for (let i = 0; i < 7; i++) await w.insertUser(newId(), `row-${i}`);
      await w.client.sync();

      const n = await track(
        Device.open(server, { user, file: files.file('ks-n'), label: 'n', limits: SMALL }),
      );
      await n.insertUser(newId(), 'anonymous-before-attach');
      n.net.arm(fault);
      const attach = await n.client.attach(user).catch((e: unknown) => e);
      expect(n.net.fired).toBe(true);
      if (!(attach instanceof Error)) {
        // Only the best-effort snapshot DELETE may fail without failing the attach.
        expect(fault.endpoint).toBe('snapshot_delete');
      }

      const n2 = await track(n.reopen());
      const info = await n2.client.syncStatus();
      if (info.bindingState === 'anonymous' && (await n2.client.sourceInfo()).currentSourceId) {
        // While a remote replace is pending the app cannot write managed tables.
        const op = await n2.all<{ kind: string }>('SELECT kind FROM _sync_operation_state');
        if (op[0]?.kind === 'remote_replace') {
          await expect(n2.insertUser(newId(), 'blocked')).rejects.toThrow(
            /SYNC_TRANSITION_PENDING/,
          );
        }
      }
      const outcome = await n2.attach();
      expect(['used_remote_state', 'resumed_attached_state']).toContain(outcome);
      await n2.client.sync();
      const remote = await expectConverged(server, user, [w, n2]);
      expect(remote.users).toHaveLength(7);
      expect(remote.users.map((u) => u.name)).not.toContain('anonymous-before-attach');
    });

    it.each(cases([{ endpoint: 'snapshot_chunk', nth: 2 }, { endpoint: 'snapshot_create' }]))(
      'explicit rebuild killed %s resumes on a new client',
      async (_name, fault) => {
        const user = uniqueUser('kill-rebuild');
        const w = await track(Device.open(server, { user, file: files.file('kr-w'), label: 'w' }));
        await w.attach();
        for (let i = 0; i < 7; i++) await w.insertUser(newId(), `row-${i}`);
        await w.client.sync();
        const r = await track(
          Device.open(server, { user, file: files.file('kr-r'), label: 'r', limits: SMALL }),
        );
        await r.attach();
        await w.insertUser(newId(), 'one-more');
        await w.client.sync();
        r.net.arm(fault);
        await expect(r.client.rebuild()).rejects.toThrow();
        const r2 = await track(r.reopen());
        await r2.attach();
        await r2.client.sync();
        await expectConverged(server, user, [w, r2]);
      },
    );
  });
});
