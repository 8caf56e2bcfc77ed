/**
 * Fixture `pull-snapshot/behavior/apply.json`: one test per case, through the real client
 * (`pullToStable` / `rebuild` over real HTTP request building against the scripted server of
 * `support/fixture-server.ts`) on a real SQLite database.
 *
 * Per case, as the SQLiteNow runners do: open, attach `user-1`, then per step run its `setupSql`,
 * note the current source, run the action and check `expectedException` /
 * `expectedErrorContains`, `expectedCheckpointRecoveryBlocked`, `expectedState` and
 * `expectedAppState`. The generic expectations are used; the `expectedKmp…` / `expectedDart…`
 * variants describe where one runtime stages or words things differently.
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type SyncTableConfig } from '../src/index.js';
import {
  currentSourceId,
  expectAppState,
  expectSyncState,
  fixtureSyncTables,
  openFixtureDb,
  runFixtureSql,
} from './support/fixture-db.js';
import {
  applyServerScript,
  createFixtureClient,
  FixtureServer,
  recordingSleep,
  type ServerScript,
} from './support/fixture-server.js';

interface PullStep {
  action: 'pullToStable' | 'rebuild';
  setupSql?: string[];
  expectedException: 'none' | 'any_error';
  expectedErrorContains?: string;
  expectedCheckpointRecoveryBlocked?: Record<string, unknown>;
  expectedState?: Record<string, unknown>;
  expectedAppState?: Record<string, unknown>;
}

interface PullCase {
  name: string;
  description: string;
  schema?: string;
  syncTables?: SyncTableConfig[];
  serverScript: ServerScript;
  steps: PullStep[];
}

const FILE = 'pull-snapshot/behavior/apply.json';

function expectStepError(step: PullStep, error: unknown): void {
  if (step.expectedException === 'none') {
    expect(error, 'expected no exception').toBeUndefined();
    return;
  }
  if (step.expectedException !== 'any_error') {
    throw new Error(`unknown expectedException "${String(step.expectedException)}"`);
  }
  expect(error, 'expected an error').toBeInstanceOf(Error);
  if (step.expectedErrorContains !== undefined) {
    expect((error as Error).message).toContain(step.expectedErrorContains);
  }
  if (step.expectedCheckpointRecoveryBlocked !== undefined) {
    expect(isOversyncClientError(error, 'checkpoint_recovery_blocked'), String(error)).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject(
      step.expectedCheckpointRecoveryBlocked,
    );
  }
}

async function runCase(c: PullCase): Promise<void> {
  const db = await openFixtureDb(c.schema ?? 'users');
  const server = new FixtureServer({ tables: fixtureSyncTables(c.syncTables) });
  await applyServerScript(server, c.serverScript);
  const client = createFixtureClient(db, server, { sleep: recordingSleep().sleep });
  try {
    await client.open();
    expect((await client.attach('user-1')).status).toBe('connected');
    for (const [i, step] of c.steps.entries()) {
      const label = `step ${i} (${step.action})`;
      await runFixtureSql(db, step.setupSql);
      const sourceBeforeStep = await currentSourceId(db);
      let error: unknown;
      try {
        switch (step.action) {
          case 'pullToStable':
            await client.pullToStable();
            break;
          case 'rebuild':
            await client.rebuild();
            break;
          default:
            throw new Error(`unknown action ${String(step.action)}`);
        }
      } catch (caught) {
        error = caught;
      }
      expectStepError(step, error);
      if (step.expectedState) {
        await expectSyncState(
          db,
          step.expectedState,
          { sourceBeforeStep },
          `${label} expectedState`,
        );
      }
      if (step.expectedAppState)
        await expectAppState(db, step.expectedAppState, `${label} expectedAppState`);
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
  const cases = (loadContract(FILE) as { cases: PullCase[] }).cases;
  if (cases.length === 0) it('has cases', () => expect.fail(`${FILE} has no cases`));
  for (const c of cases) {
    it(c.name, () => runCase(c));
  }
});
