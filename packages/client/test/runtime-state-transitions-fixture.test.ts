/**
 * Runtime-state transition fixture (`runtime-state/transitions/basic.json`): one test per case,
 * every step through the real client (`createOversyncClient` with an injected `fetch`, so the
 * HTTP request building runs too) over a file database, asserting the typed error of the step
 * and the normalised durable `_sync_*` rows after it.
 *
 * Step actions: `open`, `attach`, `pushPending`, `pullToStable`, `sourceInfo`, `reopen` (a new
 * client object on a new connection over the same file, then `open` + `attach`) and `localSql`
 * (app SQL on a separate app connection, one transaction with deferred foreign keys).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import {
  createOversyncClient,
  isOversyncClientError,
  type OversyncClient,
  type SqliteDriver,
} from '../src/index.js';
import {
  createScriptedServer,
  type ScriptedServer,
  type ServerScript,
} from './support/scripted-server.js';
import { dumpRuntimeState, type StateJson } from './support/state-snapshot.js';

const FIXTURE_FILE = 'runtime-state/transitions/basic.json';

/** Cases this runner cannot apply yet, with the reason (shown in the skipped test's name). */
const NOT_APPLIED: Readonly<Record<string, string>> = {};

const USERS_SQL = 'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)';

interface TransitionStep {
  readonly action: string;
  readonly sql?: readonly string[];
  readonly expectedException?: string;
  readonly expectedState: StateJson;
}

interface TransitionCase {
  readonly name: string;
  readonly description?: string;
  readonly serverScript?: ServerScript | null;
  readonly steps: readonly TransitionStep[];
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
async function executeFixtureSql(db: SqliteDriver, statements: readonly string[]): Promise<void> {
  if (statements.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    for (const sql of statements) await tx.exec(sql);
  });
}

interface Env {
  readonly filename: string;
  readonly app: SqliteDriver;
  readonly server: ScriptedServer;
  driver: SqliteDriver;
  client: OversyncClient;
}

function newClient(server: ScriptedServer, driver: SqliteDriver): OversyncClient {
  return createOversyncClient({
    driver,
    baseUrl: server.baseUrl,
    fetch: server.fetch,
    schema: 'main',
    tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
    // The KMP runner disables transient retry; waits are instant.
    retry: { maxAttempts: 1 },
    sleep: async () => undefined,
  });
}

async function runStep(env: Env, step: TransitionStep): Promise<void> {
  switch (step.action) {
    case 'open':
      await env.client.open();
      return;
    case 'attach':
      await env.client.attach('user-1');
      return;
    case 'pushPending':
      await env.client.pushPending();
      return;
    case 'pullToStable':
      await env.client.pullToStable();
      return;
    case 'sourceInfo':
      await env.client.sourceInfo();
      return;
    case 'reopen':
      await env.client.close();
      await env.driver.close();
      env.driver = createBetterSqlite3Driver({ filename: env.filename });
      env.client = newClient(env.server, env.driver);
      await env.client.open();
      await env.client.attach('user-1');
      return;
    case 'localSql':
      await executeFixtureSql(env.app, step.sql ?? []);
      return;
    default:
      throw new Error(`unknown runtime-state step action ${step.action}`);
  }
}

async function runCase(testCase: TransitionCase): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oversync-runtime-state-fixture-'));
  const filename = join(dir, 'client.sqlite');
  const app = createBetterSqlite3Driver({ filename });
  const driver = createBetterSqlite3Driver({ filename });
  try {
    await app.exec(USERS_SQL);
    const server = createScriptedServer(testCase.serverScript, { family: 'runtime-state' });
    const env: Env = { filename, app, server, driver, client: newClient(server, driver) };
    for (const [index, step] of testCase.steps.entries()) {
      const where = `${testCase.name} step ${index + 1} (${step.action})`;
      let error: unknown;
      try {
        await runStep(env, step);
      } catch (caught) {
        error = caught ?? new Error('undefined thrown');
      }
      expectException(where, step.expectedException ?? 'none', error);
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

describe.skipIf(!available)(available ? FIXTURE_FILE : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const spec = loadContract(FIXTURE_FILE) as { formatVersion: number; cases: TransitionCase[] };
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
