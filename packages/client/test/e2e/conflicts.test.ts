/**
 * Push conflicts end to end: every resolver (server wins — the default —, client wins, and a
 * custom `keep_merged`) on UPDATE/UPDATE, local DELETE vs remote UPDATE and local UPDATE vs
 * remote DELETE. Sibling rows of the rejected bundle are never lost, and a pull while the key is
 * dirty never turns a conflict into a silent overwrite.
 */

import {
  type ConflictContext,
  type ConflictResolver,
  clientWins,
  isOversyncClientError,
  serverWins,
} from '@oversync/client';
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

type ResolverName = 'server_wins' | 'client_wins' | 'keep_merged';

describe.each(BACKENDS)('conflicts e2e [%s]', (backend) => {
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

  /** Records what the resolver saw, then merges names as `server+local`. */
  function merging(seen: ConflictContext[]): ConflictResolver {
    return (c) => {
      seen.push(c);
      if (!c.serverRow || !c.localPayload) return { kind: 'keep_merged', mergedPayload: {} };
      return {
        kind: 'keep_merged',
        mergedPayload: { ...c.serverRow, name: `${c.serverRow.name}+${c.localPayload.name}` },
      };
    };
  }

  function resolverFor(name: ResolverName, seen: ConflictContext[]): ConflictResolver | undefined {
    if (name === 'server_wins') return undefined; // the default
    if (name === 'client_wins') return clientWins;
    return merging(seen);
  }

  /** User with a synced row `k` on devices a (remote writer) and b (conflicting writer). */
  async function setup(name: ResolverName, seen: ConflictContext[]) {
    const user = uniqueUser(`cf-${name}`);
    const a = await Device.open(server, { user, file: files.file('cf-a'), label: 'a' });
    const resolver = resolverFor(name, seen);
    const b = await Device.open(server, {
      user,
      file: files.file('cf-b'),
      label: 'b',
      ...(resolver ? { resolver } : {}),
    });
    open.push(a, b);
    await a.attach();
    const k = newId();
    await a.insertUser(k, 'orig');
    await a.client.sync();
    await b.attach();
    expect(await b.userName(k)).toBe('orig');
    return { user, a, b, k };
  }

  describe.each<ResolverName>(['server_wins', 'client_wins', 'keep_merged'])(
    'resolver %s',
    (name) => {
      it('UPDATE / UPDATE', async () => {
        const seen: ConflictContext[] = [];
        const { user, a, b, k } = await setup(name, seen);
        await a.updateUser(k, 'A');
        await a.client.sync();
        await b.updateUser(k, 'B');
        const sibling = newId();
        await b.insertUser(sibling, 'sibling'); // same bundle as the conflicting row
        const r = await b.client.sync();
        expect(r.push.conflictsResolved).toBe(1);
        await a.client.sync();
        const remote = await expectConverged(server, user, [a, b]);
        const expected = { server_wins: 'A', client_wins: 'B', keep_merged: 'A+B' }[name];
        expect(remote.users.find((u) => u.id === k)?.name).toBe(expected);
        expect(remote.users.find((u) => u.id === sibling)?.name).toBe('sibling');
        if (name === 'keep_merged') {
          expect(seen).toHaveLength(1);
          expect(seen[0]).toMatchObject({
            schema: 'business',
            table: 'users',
            key: { id: k },
            localOp: 'UPDATE',
            baseRowVersion: 1,
            serverRowVersion: 2,
            serverRowDeleted: false,
            serverRow: { id: k, name: 'A' },
            localPayload: { id: k, name: 'B' },
          });
        }
      });

      it('local DELETE / remote UPDATE', async () => {
        const seen: ConflictContext[] = [];
        const { user, a, b, k } = await setup(name, seen);
        await a.updateUser(k, 'A');
        await a.client.sync();
        await b.deleteUser(k);
        const sibling = newId();
        await b.insertUser(sibling, 'sibling');
        if (name === 'keep_merged') {
          // keep_merged is not allowed for a DELETE: fail closed, keep every local intent.
          const err = await b.client.sync().catch((e: unknown) => e);
          expect(isOversyncClientError(err, 'invalid_conflict_resolution')).toBe(true);
          expect(await b.pending()).toBe(2);
          expect(await b.userName(k)).toBeUndefined();
          // Retrying with the default resolver resolves it (server wins: the row comes back).
          const b2 = await b.reopen({ resolver: serverWins });
          open.push(b2);
          await b2.attach();
          await b2.client.sync();
          await a.client.sync();
          const remote = await expectConverged(server, user, [a, b2]);
          expect(remote.users.map((u) => u.name).sort()).toEqual(['A', 'sibling']);
          return;
        }
        const r = await b.client.sync();
        expect(r.push.conflictsResolved).toBe(1);
        await a.client.sync();
        const remote = await expectConverged(server, user, [a, b]);
        const names = remote.users.map((u) => u.name).sort();
        expect(names).toEqual(name === 'server_wins' ? ['A', 'sibling'] : ['sibling']);
      });

      it('local UPDATE / remote DELETE', async () => {
        const seen: ConflictContext[] = [];
        const { user, a, b, k } = await setup(name, seen);
        await a.deleteUser(k);
        await a.client.sync();
        await b.updateUser(k, 'B');
        const sibling = newId();
        await b.insertUser(sibling, 'sibling');
        if (name === 'server_wins') {
          const r = await b.client.sync();
          expect(r.push.conflictsResolved).toBe(1);
          await a.client.sync();
          const remote = await expectConverged(server, user, [a, b]);
          expect(remote.users.map((u) => u.name)).toEqual(['sibling']);
          return;
        }
        // Keeping an UPDATE of a row the server deleted is an invalid resolution (reference
        // contract): the push fails closed and every local intent stays pending.
        const err = await b.client.sync().catch((e: unknown) => e);
        expect(isOversyncClientError(err, 'invalid_conflict_resolution'), String(err)).toBe(true);
        expect(await b.pending()).toBe(2);
        expect(await b.userName(k)).toBe('B');
        expect(await b.userName(sibling)).toBe('sibling');
        const b2 = await b.reopen({ resolver: serverWins });
        open.push(b2);
        await b2.attach();
        await b2.client.sync();
        await a.client.sync();
        const remote = await expectConverged(server, user, [a, b2]);
        expect(remote.users.map((u) => u.name)).toEqual(['sibling']);
      });
    },
  );

  it('a pull while a key is dirty keeps the local edit and the push still meets the conflict', async () => {
    const seen: ConflictContext[] = [];
    const { user, a, b, k } = await setup('server_wins', seen);
    await a.updateUser(k, 'A');
    await a.client.sync();
    await b.updateUser(k, 'B');
    const pulled = await b.client.pullToStable();
    expect(pulled.lastBundleSeqSeen).toBe(await server.stableSeq(user));
    // The unsynced local edit is not overwritten by the pull...
    expect(await b.userName(k)).toBe('B');
    expect(await b.pending()).toBe(1);
    // ...and pushing it is not a silent overwrite of A's newer version: server wins.
    const r = await b.client.pushPending();
    expect(r.conflictsResolved).toBe(1);
    await b.client.sync();
    await a.client.sync();
    const remote = await expectConverged(server, user, [a, b]);
    expect(remote.users.find((u) => u.id === k)?.name).toBe('A');
  });

  it('INSERT / INSERT of the same key on two devices: server wins keeps the first', async () => {
    const user = uniqueUser('cf-ins');
    const a = await Device.open(server, { user, file: files.file('ii-a'), label: 'a' });
    const b = await Device.open(server, { user, file: files.file('ii-b'), label: 'b' });
    open.push(a, b);
    await a.attach();
    await a.insertUser(newId(), 'seed');
    await a.client.sync();
    await b.attach();
    const k = newId();
    await a.insertUser(k, 'A-first');
    await b.insertUser(k, 'B-second');
    await a.client.sync();
    const r = await b.client.sync();
    expect(r.push.conflictsResolved).toBe(1);
    await a.client.sync();
    const remote = await expectConverged(server, user, [a, b]);
    expect(remote.users.find((u) => u.id === k)?.name).toBe('A-first');
  });

  it('conflicts beyond the retry budget fail typed, lose nothing, and the next sync finishes', async () => {
    const user = uniqueUser('cf-many');
    const a = await Device.open(server, { user, file: files.file('m-a'), label: 'a' });
    const b = await Device.open(server, {
      user,
      file: files.file('m-b'),
      label: 'b',
      resolver: clientWins,
    });
    open.push(a, b);
    await a.attach();
    const keys = [newId(), newId(), newId(), newId()];
    for (const k of keys) await a.insertUser(k, 'orig');
    await a.client.sync();
    await b.attach();
    for (const k of keys) await a.updateUser(k, 'A');
    await a.client.sync();
    for (const k of keys) await b.updateUser(k, 'B');
    // The server reports one conflict per round trip; four keys need four resolutions but the
    // default budget is 2 automatic re-pushes (3 attempts).
    const err = await b.client.sync().catch((e: unknown) => e);
    expect(isOversyncClientError(err, 'push_conflict_retry_exhausted'), String(err)).toBe(true);
    expect(await b.pending()).toBe(4);
    for (const k of keys) expect(await b.userName(k)).toBe('B');
    const r = await b.client.sync();
    expect(r.push.outcome).toBe('committed');
    await a.client.sync();
    const remote = await expectConverged(server, user, [a, b]);
    expect(remote.users.map((u) => u.name)).toEqual(['B', 'B', 'B', 'B']);
  });
});
