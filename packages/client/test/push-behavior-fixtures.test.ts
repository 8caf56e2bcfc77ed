/**
 * Fixtures `push/behavior/recovery.json` and `push/behavior/apply.json`: one test per case,
 * through the real client (`createOversyncClient` → real HTTP request building against the
 * scripted server of `support/fixture-server.ts`) on a real SQLite database.
 *
 * Per case, as the SQLiteNow runners do: open, attach `user-1` (the server answers
 * `initialize_empty`), run `localSetupSql` / `localApplyModeSql`, then each step's action and its
 * expectations (`expectedException`, durable `expectedState`, `expectedAppState`,
 * `expectedServerState`).
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type SyncTableConfig } from '../src/index.js';
import {
  expectAppState,
  expectSyncState,
  fixtureSyncTables,
  openFixtureDb,
  runApplyModeSql,
  runFixtureSql,
} from './support/fixture-db.js';
import {
  applyServerScript,
  createFixtureClient,
  FixtureServer,
  fixtureResolver,
  recordingSleep,
  type ServerScript,
} from './support/fixture-server.js';

interface PushStep {
  action: 'pushPending' | 'localSql' | 'applyModeSql';
  sql?: string[];
  expectedException: string;
  expectedState?: Record<string, unknown>;
  expectedAppState?: Record<string, unknown>;
  expectedServerState?: { uploadedRows?: string[]; createRequestCount?: number };
}

interface PushCase {
  name: string;
  description: string;
  schema?: string;
  resolver?: string;
  syncTables?: SyncTableConfig[];
  localSetupSql?: string[];
  localApplyModeSql?: string[];
  serverScript: ServerScript;
  steps: PushStep[];
}

/** Fixture exception names → the client error codes that stand for them. */
const EXCEPTION_CODES: Readonly<Record<string, readonly string[]>> = {
  // Dart accepts OversqliteProtocolException, ArgumentError and InvalidConflictResolutionException.
  protocol_error: ['protocol_error', 'invalid_conflict_resolution'],
  source_sequence_mismatch: ['source_sequence_mismatch'],
  rebuild_required: ['rebuild_required'],
  http_error: ['http_error'],
};

function expectException(expected: string, error: unknown): void {
  if (expected === 'none') {
    expect(error, 'expected no exception').toBeUndefined();
    return;
  }
  const codes = EXCEPTION_CODES[expected];
  if (!codes) throw new Error(`unknown expectedException "${expected}"`);
  expect(isOversyncClientError(error), `expected ${expected}, got ${String(error)}`).toBe(true);
  expect(codes, `expected ${expected}, got ${String(error)}`).toContain(
    (error as { code: string }).code,
  );
}

const uploadedRowSummary = (row: Record<string, unknown>): string => {
  const key = row.key as Record<string, string>;
  return `${String(row.table)}:${String(row.op)}:${key.id ?? Object.values(key)[0]}`;
};

async function runCase(c: PushCase): Promise<void> {
  const db = await openFixtureDb(c.schema ?? 'users');
  const server = new FixtureServer({ tables: fixtureSyncTables(c.syncTables) });
  await applyServerScript(server, c.serverScript);
  const sleeps = recordingSleep();
  const client = createFixtureClient(db, server, {
    resolver: fixtureResolver(c.resolver),
    sleep: sleeps.sleep,
  });
  try {
    await client.open();
    expect((await client.attach('user-1')).status).toBe('connected');
    await runFixtureSql(db, c.localSetupSql);
    await runApplyModeSql(db, c.localApplyModeSql);

    for (const [i, step] of c.steps.entries()) {
      const label = `step ${i} (${step.action})`;
      let error: unknown;
      try {
        switch (step.action) {
          case 'pushPending':
            await client.pushPending();
            break;
          case 'localSql':
            await runFixtureSql(db, step.sql);
            break;
          case 'applyModeSql':
            await runApplyModeSql(db, step.sql);
            break;
          default:
            throw new Error(`unknown action ${String(step.action)}`);
        }
      } catch (caught) {
        error = caught;
      }
      expectException(step.expectedException, error);
      if (step.expectedState)
        await expectSyncState(db, step.expectedState, {}, `${label} expectedState`);
      if (step.expectedAppState)
        await expectAppState(db, step.expectedAppState, `${label} expectedAppState`);
      const serverState = step.expectedServerState;
      if (serverState) {
        for (const key of Object.keys(serverState)) {
          if (key !== 'uploadedRows' && key !== 'createRequestCount') {
            throw new Error(`unsupported expectedServerState key "${key}"`);
          }
        }
        if (serverState.createRequestCount !== undefined) {
          expect(server.createRequests.length, `${label} createRequestCount`).toBe(
            serverState.createRequestCount,
          );
        }
        if (serverState.uploadedRows !== undefined) {
          expect(server.uploadedRows.map(uploadedRowSummary), `${label} uploadedRows`).toEqual(
            serverState.uploadedRows,
          );
        }
      }
    }

    // Case-specific facts the fixture descriptions promise but do not spell as state.
    if (c.serverScript.kind === 'committed_bundle_not_found_then_success') {
      // Retried with the 75 ms doubling backoff, never a real wait.
      expect(server.count('committedBundleRows')).toBe(Number(c.serverScript.notFoundCount) + 1);
      expect(sleeps.waits.slice(0, 2)).toEqual([75, 150]);
    }
    for (const request of server.requests) {
      expect(request.sourceId, `${request.operation} carries Oversync-Source-ID`).toMatch(
        /^[\x21-\x7e]+$/,
      );
    }
  } finally {
    await client.close();
    await db.close();
  }
}

const FILES = ['push/behavior/recovery.json', 'push/behavior/apply.json'] as const;

describe.skipIf(!contractsAvailable())(
  contractsAvailable() ? 'push behaviour fixtures' : FIXTURES_ABSENT,
  () => {
    if (!contractsAvailable()) {
      it('needs ../shared/contracts/oversqlite', () => {});
      return;
    }
    for (const file of FILES) {
      describe(file, () => {
        const cases = (loadContract(file) as { cases: PushCase[] }).cases;
        if (cases.length === 0) it('has cases', () => expect.fail(`${file} has no cases`));
        for (const c of cases) {
          it(c.name, () => runCase(c));
        }
      });
    }
  },
);
