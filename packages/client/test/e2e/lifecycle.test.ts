/**
 * Lifecycle end to end: anonymous writes seeding a fresh account (`seeded_from_local`), attach
 * to an existing account (`used_remote_state`), offline resume, reinstall, user switch, device
 * replacement, uninstall/reinstall of sync, and automatic downloads over the watch stream.
 */

import { existsSync, rmSync } from 'node:fs';
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

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe.each(BACKENDS)('lifecycle e2e [%s]', (backend) => {
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

  async function device(user: string, label: string, seedSql?: string): Promise<Device> {
    const d = await Device.open(server, {
      user,
      file: files.file(label),
      label,
      ...(seedSql ? { seedSql } : {}),
    });
    open.push(d);
    return d;
  }

  async function track(d: Promise<Device>): Promise<Device> {
    const x = await d;
    open.push(x);
    return x;
  }

  it('operations before attach fail typed without touching the network', async () => {
    const d = await device(uniqueUser('pre'), 'pre');
    for (const op of [
      () => d.client.sync(),
      () => d.client.pushPending(),
      () => d.client.pullToStable(),
      () => d.client.rebuild(),
    ]) {
      const err = await op().catch((e: unknown) => e);
      expect(isOversyncClientError(err, 'attach_required'), String(err)).toBe(true);
    }
    expect(d.net.log).toEqual([]);
  });

  it('anonymous writes (also rows that predate sync) seed a fresh account: seeded_from_local', async () => {
    const user = uniqueUser('seed');
    const before = [newId(), newId()];
    const d = await device(
      user,
      'seed',
      `INSERT INTO users(id, name, email) VALUES ('${before[0]}', 'pre0', 'p0@x.io'), ('${before[1]}', 'pre1', 'p1@x.io');`,
    );
    const anon = newId();
    await d.insertUser(anon, 'anon');
    await d.run('INSERT INTO categories(id, name) VALUES (?, ?)', [newId(), 'cat']);
    const pending = await d.client.pendingSyncStatus();
    expect(pending).toEqual({ hasPendingSyncData: true, pendingRowCount: 4, blocksDetach: false });

    expect(await d.attach()).toBe('seeded_from_local');
    const status = await d.client.syncStatus();
    expect(status.authority).toBe('pending_local_seed');
    expect(status.pending.blocksDetach).toBe(true);
    const r = await d.client.sync();
    expect(r.push.outcome).toBe('committed');
    expect(r.status.authority).toBe('authoritative_materialized');
    const remote = await expectConverged(server, user, [d]);
    expect(remote.users.map((u) => u.name).sort()).toEqual(['anon', 'pre0', 'pre1']);
    expect(remote.categories).toHaveLength(1);
    expect(await server.bundles(user)).toHaveLength(1);

    const other = await device(user, 'seed-other');
    expect(await other.attach()).toBe('used_remote_state');
    await expectConverged(server, user, [d, other]);
  });

  it('attach to an existing account replaces anonymous local rows: used_remote_state', async () => {
    const user = uniqueUser('remote');
    const first = await device(user, 'remote-1');
    await first.attach();
    for (let i = 0; i < 5; i++) await first.insertUser(newId(), `r${i}`);
    await first.client.sync();

    const second = await device(user, 'remote-2');
    await second.insertUser(newId(), 'anonymous-local');
    const r = await second.client.attach(user);
    expect(r).toMatchObject({ status: 'connected', outcome: 'used_remote_state' });
    if (r.status === 'connected') expect(r.restore?.rowCount).toBe(5);
    expect((await second.tables()).users.map((u) => u.name)).not.toContain('anonymous-local');
    const remote = await expectConverged(server, user, [first, second]);
    expect(remote.users.map((u) => u.name)).not.toContain('anonymous-local');
    expect((await second.client.syncStatus()).authority).toBe('authoritative_materialized');
  });

  it('restart while attached resumes without the network: resumed_attached_state', async () => {
    const user = uniqueUser('resume');
    let d = await device(user, 'resume');
    await d.attach();
    await d.insertUser(newId(), 'x');
    await d.client.sync();
    d = await track(d.reopen());
    d.net.offline = true;
    expect(await d.attach()).toBe('resumed_attached_state');
    expect(d.net.log).toEqual([]);
    await d.insertUser(newId(), 'written-offline-after-restart');
    d.net.offline = false;
    await d.client.sync();
    await expectConverged(server, user, [d]);
  });

  it('reinstall: deleting the database and attaching again restores the remote state', async () => {
    const user = uniqueUser('reinstall');
    const d = await device(user, 'reinstall');
    await d.attach();
    for (let i = 0; i < 4; i++) await d.insertUser(newId(), `k${i}`);
    await d.run('INSERT INTO files(id, name, data) VALUES (randomblob(16), ?, ?)', [
      'f',
      new Uint8Array([9, 8, 7]),
    ]);
    await d.client.sync();
    const before = await server.tables(user);
    await d.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${d.file}${suffix}`, { force: true });
    expect(existsSync(d.file)).toBe(false);

    const fresh = await track(Device.open(server, { user, file: d.file, label: 'reinstalled' }));
    expect(await fresh.attach()).toBe('used_remote_state');
    expect(await fresh.tables()).toEqual(before);
    await expectConverged(server, user, [fresh]);
  });

  it('user switch: detach is blocked while unsynced, syncThenDetach then attach another user', async () => {
    const userA = uniqueUser('switch-a');
    const userB = uniqueUser('switch-b');
    const bPhone = await device(userB, 'switch-b-phone');
    await bPhone.attach();
    await bPhone.insertUser(newId(), 'B-data');
    await bPhone.client.sync();

    const shared = await device(userA, 'switch-shared');
    await shared.attach();
    await shared.insertUser(newId(), 'A-data');
    await shared.client.sync();
    await shared.insertUser(newId(), 'A-unsynced');
    const blocked = await shared.client.detach();
    expect(blocked).toEqual({ outcome: 'blocked_unsynced_data', pendingRowCount: 1 });
    expect(await shared.count('users')).toBe(2);

    // Attaching another user while attached is refused.
    const conflict = await shared.client.attach(userB).catch((e: unknown) => e);
    expect(isOversyncClientError(conflict, 'binding_conflict'), String(conflict)).toBe(true);

    const sourceBefore = (await shared.client.sourceInfo()).currentSourceId;
    const res = await shared.client.syncThenDetach();
    expect(res).toMatchObject({ isSuccess: true, remainingPendingRowCount: 0 });
    expect(res.detach.outcome).toBe('detached');
    expect(await shared.count('users')).toBe(0);
    const st = await shared.client.syncStatus();
    expect(st).toMatchObject({
      bindingState: 'anonymous',
      attachedUserId: null,
      lastBundleSeqSeen: 0,
    });
    expect((await shared.client.sourceInfo()).currentSourceId).not.toBe(sourceBefore);
    const remoteA = await server.tables(userA);
    expect(remoteA.users.map((u) => u.name).sort()).toEqual(['A-data', 'A-unsynced']);

    shared.user = userB;
    expect(await shared.attach()).toBe('used_remote_state');
    const local = await shared.tables();
    expect(local.users.map((u) => u.name)).toEqual(['B-data']);
    await shared.insertUser(newId(), 'B-from-shared');
    await shared.client.sync();
    await bPhone.client.sync();
    await expectConverged(server, userB, [shared, bPhone]);
    expect(await server.tables(userA)).toEqual(remoteA);

    // And back to A: A's data comes back, nothing of B remains.
    const back = await shared.client.syncThenDetach();
    expect(back.isSuccess).toBe(true);
    shared.user = userA;
    expect(await shared.attach()).toBe('used_remote_state');
    expect(await shared.tables()).toEqual(remoteA);
  });

  it('device replacement: a new device takes over, the old one returns with offline edits and retires', async () => {
    const user = uniqueUser('replace');
    const oldPhone = await device(user, 'old-phone');
    await oldPhone.attach();
    const ids = [newId(), newId(), newId()];
    for (const [i, id] of ids.entries()) await oldPhone.insertUser(id, `v${i}`);
    await oldPhone.client.sync();
    // The old phone goes missing with unsynced edits.
    oldPhone.net.offline = true;
    await oldPhone.updateUser(ids[0] as string, 'old-offline-edit');
    const oldOnly = newId();
    await oldPhone.insertUser(oldOnly, 'old-offline-insert');

    const newPhone = await device(user, 'new-phone');
    expect(await newPhone.attach()).toBe('used_remote_state');
    await newPhone.updateUser(ids[1] as string, 'new-edit');
    await newPhone.client.sync();

    // Found again: its edits land (no conflict with the new phone's edit), then it retires.
    oldPhone.net.offline = false;
    await oldPhone.client.sync();
    await newPhone.client.sync();
    const remote = await expectConverged(server, user, [oldPhone, newPhone]);
    expect(remote.users.map((u) => u.name).sort()).toEqual(
      ['new-edit', 'old-offline-edit', 'old-offline-insert', 'v2'].sort(),
    );
    const retired = await oldPhone.client.syncThenDetach();
    expect(retired.isSuccess).toBe(true);
    expect(await oldPhone.count('users')).toBe(0);
    await newPhone.client.sync();
    await expectConverged(server, user, [newPhone]);
  });

  it('uninstallSync keeps app data; installing sync again re-attaches to the account', async () => {
    const user = uniqueUser('uninstall');
    const d = await device(user, 'uninstall');
    await d.attach();
    for (let i = 0; i < 3; i++) await d.insertUser(newId(), `u${i}`);
    await d.client.sync();
    const before = await server.tables(user);
    await d.client.uninstallSync();
    const leftovers = await d.all(
      "SELECT name FROM sqlite_master WHERE name LIKE '\\_sync\\_%' ESCAPE '\\' OR (type = 'trigger' AND name LIKE 'trg\\_%' ESCAPE '\\')",
    );
    expect(leftovers).toEqual([]);
    expect(await d.count('users')).toBe(3);
    await d.insertUser(newId(), 'written-without-sync');

    const again = await track(d.reopen());
    expect(await again.attach()).toBe('used_remote_state');
    // The account is authoritative: local rows written while sync was uninstalled are replaced.
    expect(await again.tables()).toEqual(before);
    await expectConverged(server, user, [again]);
  });

  it('automatic downloads: the watch stream wakes a pull when another device pushes', async () => {
    const user = uniqueUser('watch');
    const writer = await device(user, 'watch-writer');
    const reader = await device(user, 'watch-reader');
    await writer.attach();
    await writer.insertUser(newId(), 'first');
    await writer.client.sync();
    await reader.attach();
    const handle = reader.client.startAutomaticDownloads();
    try {
      const id = newId();
      await writer.insertUser(id, 'pushed-while-watching');
      await writer.client.sync();
      await eventually(async () => (await reader.userName(id)) === 'pushed-while-watching');
      expect(reader.net.count('watch')).toBeGreaterThanOrEqual(1);
    } finally {
      await handle.stop();
    }
    await expectConverged(server, user, [writer, reader]);
  });
});
