/**
 * Lifecycle behaviour fixtures (`lifecycle/behavior/{basic,protocol-gates,
 * source-recovery-replacement}.json`): one test per case, every step through the real client
 * (`createOversyncClient` with an injected `fetch`, so the HTTP request building runs too) over a
 * file database, asserting the public result, the typed error, the scripted server's request
 * counts and the normalised durable `_sync_*` rows after every step.
 *
 * Step actions: `open`, `reopenOpen` (a new client object, on a new connection, over the same
 * database file), `attach`, `detach`, `syncThenDetach`, `sync`, `rebuild`, `sourceInfo`,
 * `localSql` (app SQL on a separate app connection) and `applyModeSql` (the same with
 * `apply_mode = 1`, reset before COMMIT).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import {
  type AttachResult,
  createOversyncClient,
  type DetachResult,
  isOversyncClientError,
  type OversyncClient,
  type RebuildReport,
  type SourceInfo,
  type SqliteDriver,
  type SyncReport,
  type SyncThenDetachResult,
} from '../src/index.js';
import {
  createScriptedServer,
  type ScriptedServer,
  type ServerScript,
} from './support/scripted-server.js';
import { dumpRuntimeState, type StateJson } from './support/state-snapshot.js';

const FIXTURE_FILES = [
  'lifecycle/behavior/basic.json',
  'lifecycle/behavior/protocol-gates.json',
  'lifecycle/behavior/source-recovery-replacement.json',
] as const;

/**
 * Cases this runner cannot apply yet, with the reason (they show up as skipped tests whose
 * name carries the reason).
 */
const NOT_APPLIED: Readonly<Record<string, string>> = {};

/** The users table of the KMP/Dart lifecycle runners. */
const USERS_SQL = 'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)';

interface LifecycleStep {
  readonly action: string;
  readonly sql?: readonly string[];
  readonly expectedException?: string;
  readonly expectedResult?: { [key: string]: StateJson };
  readonly expectedServerState?: {
    readonly createRequestCount?: number;
    readonly createSourceBundleIds?: readonly number[];
    readonly snapshotSessionCreateCount?: number;
    readonly snapshotSourceReplacementRequests?: readonly string[];
  };
  readonly expectedState: StateJson;
}

interface LifecycleCase {
  readonly name: string;
  readonly description?: string;
  readonly serverScript?: ServerScript | null;
  readonly steps: readonly LifecycleStep[];
}

/** Fixture exception names → `OversyncClientError.code` (`any_error`: any throw). */
const EXCEPTION_CODES: Readonly<Record<string, string>> = {
  http_error: 'http_error',
  protocol_error: 'protocol_error',
  rebuild_required: 'rebuild_required',
  source_recovery_required: 'source_recovery_required',
  source_replacement_diverged: 'source_replacement_diverged',
  source_replacement_invalid: 'source_replacement_invalid',
  invalid_source_recovery_reason: 'invalid_source_recovery_reason',
  protocol_version_mismatch: 'protocol_version_mismatch',
  source_sequence_mismatch: 'source_sequence_mismatch',
};

function describeError(error: unknown): string {
  if (isOversyncClientError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function expectException(where: string, expected: string, error: unknown): void {
  if (expected === 'none') {
    if (error !== undefined) {
      throw new Error(`${where}: expected success, got ${describeError(error)}`, { cause: error });
    }
    return;
  }
  if (error === undefined)
    throw new Error(`${where}: expected ${expected}, but the step succeeded`);
  if (expected === 'any_error') return;
  const code = EXCEPTION_CODES[expected];
  if (code === undefined) throw new Error(`${where}: unknown expected exception ${expected}`);
  expect(
    isOversyncClientError(error) ? error.code : describeError(error),
    `${where}: ${describeError(error)}`,
  ).toBe(code);
}

/** Runs fixture SQL the way the KMP runner does: one transaction with deferred FKs. */
async function executeFixtureSql(
  db: SqliteDriver,
  statements: readonly string[],
  applyMode: boolean,
): Promise<void> {
  if (statements.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    if (applyMode)
      await tx.run('UPDATE _sync_apply_state SET apply_mode = 1 WHERE singleton_key = 1');
    try {
      for (const sql of statements) await tx.exec(sql);
    } finally {
      if (applyMode)
        await tx.run('UPDATE _sync_apply_state SET apply_mode = 0 WHERE singleton_key = 1');
    }
  });
}

// --- result shapes of the fixtures -------------------------------------------------------------

function attachResultJson(result: AttachResult): { [key: string]: StateJson } {
  return result.status === 'connected'
    ? { kind: 'attach', outcome: result.outcome }
    : { kind: 'attach_retry_later', retryAfterSeconds: result.retryAfterSeconds };
}

function syncResultJson(result: SyncReport): { [key: string]: StateJson } {
  return { kind: 'sync', pushOutcome: result.push.outcome, remoteOutcome: result.pull.outcome };
}

function syncThenDetachResultJson(result: SyncThenDetachResult): { [key: string]: StateJson } {
  return {
    kind: 'sync_then_detach',
    isSuccess: result.isSuccess,
    detach: result.detach.outcome,
    syncRounds: result.syncRounds,
    remainingPendingRowCount: result.remainingPendingRowCount,
    ...(result.lastSync
      ? {
          pushOutcome: result.lastSync.push.outcome,
          remoteOutcome: result.lastSync.pull.outcome,
        }
      : {}),
  };
}

function rebuildResultJson(result: RebuildReport): { [key: string]: StateJson } {
  return { kind: 'remote_sync', outcome: result.outcome };
}

function detachResultJson(result: DetachResult): { [key: string]: StateJson } {
  return { kind: 'detach', outcome: result.outcome };
}

function sourceInfoResultJson(result: SourceInfo): { [key: string]: StateJson } {
  return {
    kind: 'source_info',
    currentSourceIdPresent: result.currentSourceId.trim() !== '',
    rebuildRequired: result.rebuildRequired,
    sourceRecoveryRequired: result.sourceRecoveryRequired,
    ...(result.sourceRecoveryReason === null
      ? {}
      : { sourceRecoveryReason: result.sourceRecoveryReason }),
  };
}

// --- the case runner ---------------------------------------------------------------------------

interface Env {
  readonly filename: string;
  /** The application's own connection (fixture SQL, state dumps). */
  readonly app: SqliteDriver;
  readonly server: ScriptedServer;
  driver: SqliteDriver;
  client: OversyncClient;
}

function newClient(env: Pick<Env, 'server'>, driver: SqliteDriver): OversyncClient {
  return createOversyncClient({
    driver,
    baseUrl: env.server.baseUrl,
    fetch: env.server.fetch,
    schema: 'main',
    tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
    // The KMP runner disables transient retry; waits are instant.
    retry: { maxAttempts: 1 },
    sleep: async () => undefined,
  });
}

async function runStep(
  env: Env,
  step: LifecycleStep,
): Promise<{ [key: string]: StateJson } | undefined> {
  switch (step.action) {
    case 'open':
      await env.client.open();
      return undefined;
    case 'reopenOpen': {
      await env.client.close();
      await env.driver.close();
      env.driver = createBetterSqlite3Driver({ filename: env.filename });
      env.client = newClient(env, env.driver);
      await env.client.open();
      return undefined;
    }
    case 'attach':
      return attachResultJson(await env.client.attach('user-1'));
    case 'detach':
      return detachResultJson(await env.client.detach());
    case 'syncThenDetach':
      return syncThenDetachResultJson(await env.client.syncThenDetach());
    case 'sync':
      return syncResultJson(await env.client.sync());
    case 'rebuild':
      return rebuildResultJson(await env.client.rebuild());
    case 'sourceInfo':
      return sourceInfoResultJson(await env.client.sourceInfo());
    case 'localSql':
      await executeFixtureSql(env.app, step.sql ?? [], false);
      return undefined;
    case 'applyModeSql':
      await executeFixtureSql(env.app, step.sql ?? [], true);
      return undefined;
    default:
      throw new Error(`unknown lifecycle step action ${step.action}`);
  }
}

async function runCase(testCase: LifecycleCase): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oversync-lifecycle-fixture-'));
  const filename = join(dir, 'client.sqlite');
  const app = createBetterSqlite3Driver({ filename });
  const driver = createBetterSqlite3Driver({ filename });
  try {
    await app.exec(USERS_SQL);
    const server = createScriptedServer(testCase.serverScript, {
      family: 'lifecycle',
      runSql: (statements) => executeFixtureSql(app, statements, false),
    });
    const env: Env = { filename, app, server, driver, client: newClient({ server }, driver) };
    for (const [index, step] of testCase.steps.entries()) {
      const where = `${testCase.name} step ${index + 1} (${step.action})`;
      let error: unknown;
      let result: { [key: string]: StateJson } | undefined;
      try {
        result = await runStep(env, step);
      } catch (caught) {
        error = caught ?? new Error('undefined thrown');
      }
      expectException(where, step.expectedException ?? 'none', error);
      if (step.expectedResult !== undefined) {
        expect(result, `${where}: result`).toEqual(step.expectedResult);
      }
      const expectedServer = step.expectedServerState;
      if (expectedServer !== undefined) {
        const { record } = server;
        if (expectedServer.createRequestCount !== undefined) {
          expect(record.createRequests.length, `${where}: create request count`).toBe(
            expectedServer.createRequestCount,
          );
        }
        if (expectedServer.createSourceBundleIds !== undefined) {
          expect(
            record.createRequests.map((r) => r.sourceBundleId),
            `${where}: created source bundle ids`,
          ).toEqual(expectedServer.createSourceBundleIds);
        }
        if (expectedServer.snapshotSessionCreateCount !== undefined) {
          expect(record.snapshotSessionCreateCount, `${where}: snapshot session count`).toBe(
            expectedServer.snapshotSessionCreateCount,
          );
        }
        if (expectedServer.snapshotSourceReplacementRequests !== undefined) {
          expect(
            record.snapshotSourceReplacementRequests,
            `${where}: snapshot source replacement requests`,
          ).toEqual(expectedServer.snapshotSourceReplacementRequests);
        }
      }
      expect(await dumpRuntimeState(app), `${where}: runtime state`).toEqual(step.expectedState);
    }
    await env.client.close();
    await env.driver.close();
  } finally {
    await driver.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'lifecycle behavior fixtures' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  for (const file of FIXTURE_FILES) {
    describe(file, () => {
      const spec = loadContract(file) as { formatVersion: number; cases: LifecycleCase[] };
      it('has formatVersion 1 and cases', () => {
        expect(spec.formatVersion).toBe(1);
        expect(spec.cases.length).toBeGreaterThan(0);
      });
      for (const testCase of spec.cases) {
        const reason = NOT_APPLIED[testCase.name];
        if (reason !== undefined) {
          it.skip(`${testCase.name} [not applied: ${reason}]`, () => {});
        } else {
          it(testCase.name, () => runCase(testCase));
        }
      }
    });
  }
});
