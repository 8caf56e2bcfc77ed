/**
 * History pruning end to end: the server's retention API (`setRetainedFloor`) drops bundles a
 * lagging device still needs; its next pull must recover through a snapshot
 * (`outcome: 'applied_snapshot'`), keeping unsynced local edits, and a push whose committed
 * bundle was pruned before it could be replayed must still converge without duplicates.
 */

import { isOversyncClientError } from '@oversync/client';
import { BACKENDS, uniqueUser } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Device,
  type E2eServer,
  expectConverged,
  newId,
  startE2eServer,
  TempFiles,
} from './support/harness.js';

describe.each(BACKENDS)('pruning → rebuild e2e [%s]', (backend) => {
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

  async function device(user: string, label: string): Promise<Device> {
    const d = await Device.open(server, { user, file: files.file(label), label });
    open.push(d);
    return d;
  }

  async function track(p: Promise<Device>): Promise<Device> {
    const d = await p;
    open.push(d);
    return d;
  }

  async function prune(user: string): Promise<number> {
    const floor = await server.stableSeq(user);
    const r = await server.t.service.setRetainedFloor(user, floor);
    expect(r).toEqual({ found: true, floor: String(floor) });
    return floor;
  }

  async function pair(prefix: string) {
    const user = uniqueUser(prefix);
    const a = await device(user, `${prefix}-a`);
    const b = await device(user, `${prefix}-b`);
    await a.attach();
    await a.insertUser(newId(), 'initial');
    await a.client.sync();
    await b.attach();
    return { user, a, b };
  }

  it('a lagging device recovers pruned history through a snapshot', async () => {
    const { user, a, b } = await pair('lag');
    for (let i = 0; i < 5; i++) {
      await a.insertUser(newId(), `bundle-${i}`);
      await a.client.sync();
    }
    await prune(user);
    const r = await b.client.pullToStable();
    expect(r.outcome).toBe('applied_snapshot');
    expect(r.recoveryReason).toBe('history_pruned');
    expect(r.lastBundleSeqSeen).toBe(await server.stableSeq(user));
    expect((await b.client.syncStatus()).rebuildRequired).toBe(false);
    await expectConverged(server, user, [a, b]);
    // Incremental pulls work again afterwards.
    await a.insertUser(newId(), 'after-prune');
    await a.client.sync();
    expect((await b.client.pullToStable()).outcome).toBe('applied_incremental');
    await expectConverged(server, user, [a, b]);
  });

  it('recovery keeps the lagging device’s unsynced edits (pushed before the snapshot)', async () => {
    const { user, a, b } = await pair('lag-dirty');
    const shared = newId();
    await a.insertUser(shared, 'shared');
    await a.client.sync();
    await b.client.sync();
    for (let i = 0; i < 3; i++) {
      await a.insertUser(newId(), `a-${i}`);
      await a.client.sync();
    }
    await prune(user);
    const mine = newId();
    await b.insertUser(mine, 'b-offline-insert');
    await b.updateUser(shared, 'b-edit');
    const r = await b.client.sync();
    expect(r.pull.outcome).toBe('applied_snapshot');
    await a.client.sync();
    const remote = await expectConverged(server, user, [a, b]);
    expect(remote.users.find((u) => u.id === mine)?.name).toBe('b-offline-insert');
    expect(remote.users.find((u) => u.id === shared)?.name).toBe('b-edit');
  });

  it('explicit rebuild replaces local state with the server snapshot (keep source)', async () => {
    const { user, a, b } = await pair('rebuild');
    await a.insertUser(newId(), 'more');
    await a.client.sync();
    const source = (await b.client.sourceInfo()).currentSourceId;
    const r = await b.client.rebuild();
    expect(r).toMatchObject({ outcome: 'applied_snapshot', mode: 'keep_source' });
    expect(r.restore.rowCount).toBe(2);
    expect((await b.client.sourceInfo()).currentSourceId).toBe(source);
    await expectConverged(server, user, [a, b]);
  });

  /** b pushes one row and dies right after the commit was acknowledged (before the replay). */
  async function replayPruned(prefix: string) {
    const { user, a, b } = await pair(prefix);
    const id = newId();
    await b.insertUser(id, 'b-pushed');
    b.net.arm({ endpoint: 'committed_rows', when: 'before', mode: 'kill' });
    await expect(b.client.sync()).rejects.toThrow();
    expect(b.net.fired).toBe(true);
    const seqAfterCommit = await server.stableSeq(user);
    for (let i = 0; i < 2; i++) {
      await a.insertUser(newId(), `a-${i}`);
      await a.client.sync();
    }
    await prune(user);
    const b2 = await track(b.reopen());
    await b2.attach();
    return { user, a, b2, id, seqAfterCommit };
  }

  async function expectReplayPrunedConverged(
    s: Awaited<ReturnType<typeof replayPruned>>,
  ): Promise<void> {
    await s.b2.insertUser(newId(), 'after-recovery');
    await s.b2.client.sync();
    await s.a.client.sync();
    const remote = await expectConverged(server, s.user, [s.a, s.b2]);
    expect(remote.users.filter((u) => u.id === s.id)).toHaveLength(1);
    // Nothing was pushed twice: a's two bundles plus the one after recovery.
    expect(await server.stableSeq(s.user)).toBe(s.seqAfterCommit + 3);
  }

  it('committed bundle pruned before replay: explicit rebuild() recovers (preserve_committed)', async () => {
    const s = await replayPruned('replay-pruned-rebuild');
    const err = await s.b2.client.pushPending().catch((e: unknown) => e);
    expect(isOversyncClientError(err, 'rebuild_required'), String(err)).toBe(true);
    const r = await s.b2.client.rebuild();
    expect(r.mode).toBe('preserve_committed');
    await expectReplayPrunedConverged(s);
  });

  it('committed bundle pruned before replay: sync() runs checkpoint recovery by itself', async () => {
    const s = await replayPruned('replay-pruned-sync');
    // client-internals §6.4: with rebuild_required set, sync()/pullToStable() run checkpoint
    // recovery, which rebuilds preserving the committed outbox. The app never has to call
    // rebuild() for a condition the engine can repair itself.
    const first = await s.b2.client.sync().catch((e: unknown) => e);
    expect(first instanceof Error ? String(first) : 'ok').toBe('ok');
    await expectReplayPrunedConverged(s);
  });

  it('committed bundle pruned before replay: pullToStable() recovers by itself', async () => {
    const s = await replayPruned('replay-pruned-pull');
    await s.b2.client.pushPending().catch(() => undefined);
    const r = await s.b2.client.pullToStable();
    expect(r.outcome).toBe('applied_snapshot');
    await expectReplayPrunedConverged(s);
  });

  it('the commit response is lost and the bundle is pruned before the device returns', async () => {
    const { user, a, b } = await pair('commit-lost-pruned');
    const ids = [newId(), newId()];
    for (const [i, id] of ids.entries()) await b.insertUser(id, `b-${i}`);
    b.net.arm({ endpoint: 'push_commit', when: 'after', mode: 'kill' });
    await expect(b.client.sync()).rejects.toThrow();
    const seqAfterCommit = await server.stableSeq(user);
    await a.insertUser(newId(), 'a-later');
    await a.client.sync();
    await prune(user);

    const b2 = await track(b.reopen());
    await b2.attach();
    // The prepared outbox can no longer be proven committed: source recovery (rotate) is the
    // documented path; ordinary sync may either recover automatically or ask for rebuild().
    const first = await b2.client.sync().catch((e: unknown) => e);
    if (first instanceof Error) {
      expect((await b2.client.sourceInfo()).sourceRecoveryRequired).toBe(true);
      const rb = await b2.client.rebuild();
      expect(rb.mode).toBe('rotate_source');
    }
    // From here on ordinary sync must work, also for new writes.
    await b2.client.sync();
    const later = newId();
    await b2.insertUser(later, 'b-after-recovery');
    await b2.client.sync();
    await a.client.sync();
    const remote = await expectConverged(server, user, [a, b2]);
    for (const id of ids) expect(remote.users.filter((u) => u.id === id)).toHaveLength(1);
    expect(remote.users.map((u) => u.name).sort()).toEqual([
      'a-later',
      'b-0',
      'b-1',
      'b-after-recovery',
      'initial',
    ]);
    // At most the rotated re-push of the same two rows (which the server can only see as
    // conflicting duplicates) may add bundles; data is not duplicated.
    expect(await server.stableSeq(user)).toBeGreaterThanOrEqual(seqAfterCommit + 1);
  });
});
