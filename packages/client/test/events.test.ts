/** Client events an app subscribes to: phase changes and status after operations. */

import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { expect, it } from 'vitest';
import { type ClientPhase, createOversyncClient, type SyncStatus } from '../src/index.js';
import { scriptedAttachRemote } from './support/fake-remote.js';

async function setup() {
  const driver = createBetterSqlite3Driver({ filename: ':memory:' });
  await driver.exec('CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)');
  const client = createOversyncClient(
    {
      driver,
      baseUrl: 'http://unused.invalid',
      schema: 'main',
      tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
    },
    { remote: scriptedAttachRemote() },
  );
  return { driver, client };
}

it('emits phase transitions and a status event after every operation', async () => {
  const { client } = await setup();
  const phases: ClientPhase[] = [];
  const statuses: SyncStatus[] = [];
  client.on('phase', (e) => phases.push(e.phase));
  client.on('status', (s) => statuses.push(s));
  await client.open();
  await client.attach('u1');
  expect(phases).toEqual(['idle', 'attaching', 'idle']);
  expect(statuses.at(-1)?.bindingState).toBe('attached');
  expect(statuses.at(-1)?.attachedUserId).toBe('u1');
  const before = statuses.length;
  await client.syncStatus(); // a query, not an operation: no event
  expect(statuses.length).toBe(before);
  await client.pushPending();
  expect(statuses.length).toBe(before + 1);
});

it('a throwing listener never breaks an operation', async () => {
  const { client } = await setup();
  client.on('phase', () => {
    throw new Error('listener bug');
  });
  client.on('status', () => {
    throw new Error('listener bug');
  });
  await client.open();
  await expect(client.attach('u1')).resolves.toMatchObject({ status: 'connected' });
});

it('reports pending rows in the status after local writes are pushed away', async () => {
  const { driver, client } = await setup();
  await client.open();
  await driver.run("INSERT INTO users(id, name) VALUES ('a', 'Ada')");
  expect((await client.pendingSyncStatus()).pendingRowCount).toBe(1);
  const statuses: SyncStatus[] = [];
  client.on('status', (s) => statuses.push(s));
  await client.detach(); // anonymous detach wipes local data
  expect(statuses.at(-1)?.pending.pendingRowCount).toBe(0);
});
