/**
 * The lifecycle state machine: the guard table is walked exhaustively against the real client
 * (every state × every command), the transition table is checked for totality, and
 * docs/client.md is checked to render exactly these tables.
 */

import { readFileSync } from 'node:fs';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createOversyncClient, isOversyncClientError, type OversyncClient } from '../src/index.js';
import {
  CLIENT_COMMANDS,
  CLIENT_EVENTS,
  CLIENT_STATES,
  type ClientCommand,
  type ClientState,
  COMMAND_GUARDS,
  deriveClientState,
  TRANSITIONS,
} from '../src/lifecycle/state-machine.js';
import { offlineRemote, scriptedAttachRemote } from './support/fake-remote.js';

const TABLES = [{ tableName: 'users', syncKeyColumnName: 'id' }];
const DDL = 'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)';

/** Builds a client in `state` over a fresh in-memory database. */
async function clientIn(state: ClientState): Promise<OversyncClient> {
  const driver = createBetterSqlite3Driver({ filename: ':memory:' });
  await driver.exec(DDL);
  const remote = scriptedAttachRemote();
  const base = { driver, baseUrl: 'http://unused.invalid', schema: 'main', tables: TABLES };
  const client = createOversyncClient(base, { remote });
  if (state === 'closed') return client;
  await client.open();
  if (state === 'anonymous') return client;
  if (state === 'remote_replace_pending') {
    await driver.run(
      "UPDATE _sync_operation_state SET kind = 'remote_replace', target_user_id = 'u1' WHERE singleton_key = 1",
    );
    return reopen();
  }
  await client.attach('u1');
  if (state === 'ready') return client;
  if (state === 'rebuild_required') {
    await driver.run(
      'UPDATE _sync_attachment_state SET rebuild_required = 1 WHERE singleton_key = 1',
    );
    return client;
  }
  if (state === 'source_recovery') {
    await driver.run(
      "UPDATE _sync_operation_state SET kind = 'source_recovery', reason = 'source_retired', replacement_source_id = ? WHERE singleton_key = 1",
      [crypto.randomUUID()],
    );
    await driver.run(
      'UPDATE _sync_attachment_state SET rebuild_required = 1 WHERE singleton_key = 1',
    );
    return client;
  }
  // attached_idle: durable binding, new process without attach
  return reopen();

  async function reopen(): Promise<OversyncClient> {
    const next = createOversyncClient(base, { remote: offlineRemote() });
    await next.open();
    return next;
  }
}

async function runCommand(client: OversyncClient, command: ClientCommand): Promise<void> {
  switch (command) {
    case 'open':
      return client.open();
    case 'attach':
      await client.attach('u1');
      return;
    case 'pushPending':
      await client.pushPending();
      return;
    case 'pullToStable':
      await client.pullToStable();
      return;
    case 'sync':
      await client.sync();
      return;
    case 'rebuild':
      await client.rebuild();
      return;
    case 'detach':
      await client.detach();
      return;
    case 'syncThenDetach':
      await client.syncThenDetach();
      return;
    case 'startAutomaticDownloads':
      await client.startAutomaticDownloads().stop();
      return;
    case 'status':
      await client.syncStatus();
      return;
  }
}

describe('state machine guards (real client, every state × command)', () => {
  for (const state of CLIENT_STATES) {
    for (const command of CLIENT_COMMANDS) {
      const guard = COMMAND_GUARDS[state][command];
      const label = guard === 'allow' ? 'runs' : `refuses with ${guard.refuse}`;
      it(`${state} · ${command} ${label}`, async () => {
        const client = await clientIn(state);
        let error: unknown;
        try {
          await runCommand(client, command);
        } catch (e) {
          error = e;
        }
        const refusedByGuard =
          isOversyncClientError(error) && (error.details as { state?: string }).state !== undefined;
        if (guard === 'allow') {
          expect(refusedByGuard, `unexpected refusal: ${String(error)}`).toBe(false);
        } else {
          expect(isOversyncClientError(error, guard.refuse), String(error)).toBe(true);
        }
      });
    }
  }
});

describe('state derivation', () => {
  it('derives every state from durable facts', () => {
    const base = {
      opened: true,
      sessionAttached: true,
      bindingState: 'attached',
      operationKind: 'none',
      rebuildRequired: false,
    } as const;
    expect(deriveClientState({ ...base, opened: false })).toBe('closed');
    expect(deriveClientState({ ...base, bindingState: 'anonymous' })).toBe('anonymous');
    expect(deriveClientState({ ...base, sessionAttached: false })).toBe('attached_idle');
    expect(deriveClientState(base)).toBe('ready');
    expect(deriveClientState({ ...base, rebuildRequired: true })).toBe('rebuild_required');
    expect(
      deriveClientState({ ...base, operationKind: 'source_recovery', rebuildRequired: true }),
    ).toBe('source_recovery');
    expect(
      deriveClientState({ ...base, operationKind: 'remote_replace', bindingState: 'anonymous' }),
    ).toBe('remote_replace_pending');
  });

  it('transition table is total and only targets known states', () => {
    for (const s of CLIENT_STATES) {
      for (const e of CLIENT_EVENTS) {
        const next = TRANSITIONS[s][e];
        expect(next === null || CLIENT_STATES.includes(next)).toBe(true);
      }
      // Every state can be closed and every attached state can be detached.
      expect(TRANSITIONS[s].closed).toBe('closed');
    }
  });
});

describe('docs/client.md renders the same tables', () => {
  const doc = readFileSync(new URL('../../../docs/client.md', import.meta.url), 'utf8');
  const section = (name: string): string => {
    const start = doc.indexOf(`<!-- state-machine:${name}:start -->`);
    const end = doc.indexOf(`<!-- state-machine:${name}:end -->`);
    expect(start).toBeGreaterThan(0);
    return doc.slice(start, end);
  };
  const cells = (table: string): string[][] =>
    table
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) =>
        l
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );

  it('guard table', () => {
    const rows = cells(section('guards'));
    expect(rows.map((r) => r[0])).toEqual(CLIENT_STATES.map((s) => `\`${s}\``));
    for (const [i, state] of CLIENT_STATES.entries()) {
      const expected = CLIENT_COMMANDS.map((c) => {
        const g = COMMAND_GUARDS[state][c];
        return g === 'allow' ? '✓' : `✗ \`${g.refuse}\``;
      });
      expect(rows[i]?.slice(1)).toEqual(expected);
    }
  });

  it('transition table', () => {
    const rows = cells(section('transitions'));
    for (const [i, state] of CLIENT_STATES.entries()) {
      const expected = CLIENT_EVENTS.map((e) => {
        const n = TRANSITIONS[state][e];
        return n === null ? '—' : `\`${n}\``;
      });
      expect(rows[i]?.slice(1)).toEqual(expected);
    }
  });
});
