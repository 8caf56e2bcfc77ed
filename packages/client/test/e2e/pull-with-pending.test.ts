/**
 * Pulls while local intent is pending (dirty rows, or a bundle frozen in the outbox whose upload
 * failed): remote rows for other keys are applied; a key with local intent is not overwritten,
 * only its row version moves, so the next push meets a conflict and the resolver decides with
 * the server row in hand. Nothing the user wrote is lost.
 */

import { clientWins } from '@oversync/client';
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

describe.each(BACKENDS)('pull with pending local intent [%s]', (backend) => {
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

  async function pair(label: string) {
    const user = uniqueUser(label);
    const a = await Device.open(server, { user, file: files.file(`${label}-a`), label: 'a' });
    const b = await Device.open(server, {
      user,
      file: files.file(`${label}-b`),
      label: 'b',
      resolver: clientWins,
    });
    open.push(a, b);
    await a.attach();
    const k = newId();
    await a.insertUser(k, 'orig');
    await a.client.sync();
    await b.attach();
    return { user, a, b, k };
  }

  for (const where of ['dirty', 'frozen outbox'] as const) {
    it(`a remote change to a key with ${where} local intent does not overwrite it`, async () => {
      const made = await pair(`pp-${where === 'dirty' ? 'dirty' : 'outbox'}`);
      const { user, a, k } = made;
      let b = made.b;
      const other = newId();
      await a.updateUser(k, 'remote');
      await a.insertUser(other, 'other');
      await a.client.sync();

      await b.updateUser(k, 'local');
      if (where === 'frozen outbox') {
        // The bundle is frozen, then the upload fails: the intent sits in the outbox.
        // The process dies before the request; a new process finds it in the outbox.
        b.net.arm({ endpoint: 'push_create', when: 'before', mode: 'kill' });
        await expect(b.client.pushPending()).rejects.toThrow();
        b = await b.reopen();
        open.push(b);
        await b.attach();
        expect((await b.client.pendingSyncStatus()).pendingRowCount).toBe(1);
        expect(
          await b.driver.get<{ n: number }>('SELECT COUNT(*) AS n FROM _sync_outbox_rows'),
        ).toEqual({ n: 1 });
      }
      const pulled = await b.client.pullToStable();
      expect(pulled.outcome).toBe('applied_incremental');
      expect(await b.userName(other)).toBe('other'); // other keys are applied
      expect(await b.userName(k)).toBe('local'); // local intent is kept

      const r = await b.client.sync(); // conflict → clientWins re-pushes the local intent
      expect(r.push.conflictsResolved).toBe(1);
      await a.client.sync();
      const remote = await expectConverged(server, user, [a, b]);
      expect(remote.users.find((u) => u.id === k)?.name).toBe('local');
      expect(remote.users.find((u) => u.id === other)?.name).toBe('other');
    });
  }
});
