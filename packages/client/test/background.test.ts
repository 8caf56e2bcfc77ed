/** App operations and automatic downloads share one operation lock without failing each other. */

import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { expect, it } from 'vitest';
import { createOversyncClient, isOversyncClientError, type RemoteApi } from '../src/index.js';
import { scriptedAttachRemote } from './support/fake-remote.js';

function deferred() {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

it('an app sync() waits for a running background pull instead of failing', async () => {
  const gate = deferred();
  const pullStarted = deferred();
  let pulls = 0;
  const remote: RemoteApi = {
    ...scriptedAttachRemote(),
    pull: async () => {
      pulls++;
      if (pulls === 1) {
        pullStarted.resolve();
        await gate.promise; // the background pull is slow
      }
      return { stable_bundle_seq: 0, bundles: [], has_more: false };
    },
  };
  const driver = createBetterSqlite3Driver({ filename: ':memory:' });
  await driver.exec('CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)');
  const client = createOversyncClient(
    {
      driver,
      baseUrl: 'http://unused.invalid',
      schema: 'main',
      tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
      watch: { useWatch: false, pollIntervalMs: 60_000 },
    },
    { remote },
  );
  await client.open();
  await client.attach('u1');
  const downloads = client.startAutomaticDownloads();
  await pullStarted.promise;

  const sync = client.sync();
  let settled = false;
  void sync.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((r) => setTimeout(r, 20));
  expect(settled).toBe(false); // waiting, not failed
  gate.resolve();
  const report = await sync;
  expect(report.pull.outcome).toBe('already_at_target');
  expect(pulls).toBe(2);

  // Two app calls at once still fail fast (the reference contract).
  const first = client.sync();
  await expect(client.pushPending()).rejects.toSatisfy((e: unknown) =>
    isOversyncClientError(e, 'sync_operation_in_progress'),
  );
  await first;
  await downloads.stop();
  await driver.close();
});
