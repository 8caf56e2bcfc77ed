/**
 * Fixture `invalidation/behavior/basic.json`: one test per case. The client's invalidation
 * contract is the `tablesChanged` event (what the SQLiteNow runtimes report to their reactive
 * queries): a case expecting an emission needs at least one `tablesChanged` during the action
 * naming a watched table (`sync-union`: naming every watched table, the union of pushed and
 * pulled tables); a case expecting none must see no `tablesChanged` naming a watched table.
 *
 * Each action is arranged as in the SQLiteNow runner (`invalidation_behavior_fixture_test.dart`)
 * on the `users-posts` schema, through the real client and the scripted server of
 * `support/fixture-server.ts`.
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import type { OversyncClient, SqliteDriver, TablesChangedEvent } from '../src/index.js';
import { openFixtureDb } from './support/fixture-db.js';
import { createFixtureClient, FixtureServer, recordingSleep } from './support/fixture-server.js';

interface InvalidationCase {
  name: string;
  description: string;
  action: string;
  watchTables: string[];
  expectedEmission: boolean;
}

const FILE = 'invalidation/behavior/basic.json';
const TABLES = [
  { tableName: 'users', syncKeyColumnName: 'id' },
  { tableName: 'posts', syncKeyColumnName: 'id' },
];

interface Env {
  readonly db: SqliteDriver;
  readonly server: FixtureServer;
  readonly client: OversyncClient;
}

const userRow = (id: string, name: string, rowVersion = 1) => ({
  schema: 'main',
  table: 'users',
  key: { id },
  op: 'INSERT' as const,
  row_version: rowVersion,
  payload: { id, name },
});

/** Arrange (outside the observed window) and return the observed action of each fixture action. */
const ACTIONS: Readonly<Record<string, (env: Env) => Promise<() => Promise<void>>>> = {
  async incrementalPull({ client, server }) {
    await client.open();
    await client.attach('user-1');
    server.addRemoteBundle([userRow('u1', 'Ada')]);
    return async () => {
      const report = await client.pullToStable();
      expect(report.outcome).toBe('applied_incremental');
    };
  },

  async snapshotHydrate({ client, server }) {
    server.pullError = {
      status: 409,
      body: { error: 'history_pruned', message: 'history pruned' },
    };
    server.snapshotBundleSeq = 7;
    server.snapshotRows = [
      {
        schema: 'main',
        table: 'users',
        key: { id: 'u1' },
        row_version: 7,
        payload: { id: 'u1', name: 'Snapshot' },
      },
    ];
    await client.open();
    await client.attach('user-1');
    return async () => {
      const report = await client.pullToStable();
      expect(report.outcome).toBe('applied_snapshot');
    };
  },

  async committedReplay({ client, db }) {
    await client.open();
    await client.attach('user-1');
    return async () => {
      await db.run("INSERT INTO users(id, name) VALUES('u1', 'Ada')");
      const report = await client.pushPending();
      expect(report.outcome).toBe('committed');
    };
  },

  async conflictRewrite({ client, server, db }) {
    await client.open();
    await client.attach('user-1');
    server.addRemoteBundle([userRow('u1', 'Original')]);
    await client.pullToStable();
    return async () => {
      await db.run("UPDATE users SET name = 'Local Edit' WHERE id = 'u1'");
      server.push = {
        conflictOnce: {
          schema: 'main',
          table: 'users',
          key: { id: 'u1' },
          op: 'UPDATE',
          base_row_version: 1,
          server_row_version: 99,
          server_row_deleted: false,
          server_row: { id: 'u1', name: 'Server Wins' },
        },
      };
      await client.pushPending();
      const rows = await db.all('SELECT id, name FROM users');
      expect(rows).toEqual([{ id: 'u1', name: 'Server Wins' }]);
    };
  },

  async syncUnion({ client, server, db }) {
    await client.open();
    await client.attach('user-1');
    await db.run("INSERT INTO users(id, name) VALUES('local-user', 'Local User')");
    await db.run("INSERT INTO posts(id, user_id, title) VALUES('p1', 'local-user', 'Local Post')");
    server.addRemoteBundle([userRow('remote-user', 'Remote User')]);
    return async () => {
      await client.sync();
    };
  },

  async successfulDetach({ client, server }) {
    await client.open();
    await client.attach('user-1');
    server.addRemoteBundle([userRow('u1', 'Ada')]);
    await client.pullToStable();
    return async () => {
      expect((await client.detach()).outcome).toBe('detached');
    };
  },

  async blockedDetach({ client, db }) {
    await client.open();
    await client.attach('user-1');
    return async () => {
      await db.run("INSERT INTO users(id, name) VALUES('u1', 'Unsynced')");
      expect((await client.detach()).outcome).toBe('blocked_unsynced_data');
    };
  },

  async noopDetach({ client, db }) {
    await client.open();
    await db.run(`UPDATE _sync_operation_state
SET kind = 'remote_replace',
    target_user_id = 'user-1',
    staged_snapshot_id = '',
    snapshot_bundle_seq = 0,
    snapshot_row_count = 0
WHERE singleton_key = 1`);
    return async () => {
      expect((await client.detach()).outcome).toBe('detached');
    };
  },
};

async function runCase(c: InvalidationCase): Promise<void> {
  const arrange = ACTIONS[c.action];
  if (!arrange) throw new Error(`unknown invalidation action "${c.action}"`);
  const db = await openFixtureDb('users-posts');
  const server = new FixtureServer({ tables: TABLES });
  const client = createFixtureClient(db, server, { sleep: recordingSleep().sleep });
  try {
    const act = await arrange({ db, server, client });
    const events: TablesChangedEvent[] = [];
    const off = client.on('tablesChanged', (e) => events.push(e));
    try {
      await act();
      // Emission is synchronous; one turn more catches anything queued by the action.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      off();
    }
    const watched = new Set(c.watchTables);
    const hits = events.filter((e) => e.tables.some((t) => watched.has(t)));
    if (c.expectedEmission) {
      expect(
        hits.length,
        `tablesChanged naming one of [${c.watchTables.join(', ')}]`,
      ).toBeGreaterThan(0);
      if (c.action === 'syncUnion') {
        const union = new Set(events.flatMap((e) => e.tables));
        for (const t of c.watchTables)
          expect([...union], 'sync invalidates pushed ∪ pulled tables').toContain(t);
      }
    } else {
      expect(hits, 'no app-table invalidation').toEqual([]);
    }
  } finally {
    await client.close();
    await db.close();
  }
}

describe.skipIf(!contractsAvailable())(contractsAvailable() ? FILE : FIXTURES_ABSENT, () => {
  if (!contractsAvailable()) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const cases = (loadContract(FILE) as { cases: InvalidationCase[] }).cases;
  if (cases.length === 0) it('has cases', () => expect.fail(`${FILE} has no cases`));
  for (const c of cases) it(c.name, () => runCase(c));
});
