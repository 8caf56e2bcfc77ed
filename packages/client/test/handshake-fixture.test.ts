/**
 * Fixture `protocol-handshake/connect.json`: capabilities and connect answers go through the real
 * HTTP client (`GET sync/capabilities`, `POST sync/connect`) and `checkCapabilities`; the test
 * asserts the requests and the lifecycle interpretation.
 *
 * Mapping of `expected.attachKind` to what the attach workflow does with these answers:
 *
 * | fixture `attachKind` / `attachOutcome`   | attach workflow                                               |
 * | ---------------------------------------- | ------------------------------------------------------------- |
 * | `unsupportedCapability`                  | `features.connect_lifecycle` false → throws                   |
 * |                                          | `connect_lifecycle_unsupported`, connect is never called      |
 * | `retryLater` (+ `retryAfterSeconds`)     | resolution `retry_later` → `{ status: 'retry_later',          |
 * |                                          | retryAfterSeconds }`, no durable binding                      |
 * | `connected` / `startedEmpty`             | resolution `initialize_empty` → attached, no seed lease        |
 * | `connected` / `seededFromLocal`          | resolution `initialize_local` → attached, seed lease =        |
 * |                                          | `initialization_id` (the `pendingInitializationId`)           |
 * | `connected` / `usedRemoteState`          | resolution `remote_authoritative` → attached, hydrate from    |
 * |                                          | a snapshot                                                    |
 *
 * `contractCases` (table contract) go through the same client: `match` → no error, `mismatch` →
 * `table_contract_mismatch` with the fixture's lists, `invalid` → `protocol_error` (a missing or
 * `null` list already fails decoding; a duplicated spec fails `checkCapabilities`).
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type OversyncClientError } from '../src/errors.js';
import { checkCapabilities, type LocalTableContract } from '../src/remote/handshake.js';
import { createHttpRemoteApi } from '../src/remote/http-remote-api.js';

interface ScriptedResponse {
  status: number;
  body: unknown;
}

interface ConnectCase {
  name: string;
  capabilities: ScriptedResponse;
  connect: ScriptedResponse | null;
  local: { hasLocalPendingRows: boolean };
  expected: {
    connectLifecycleSupported: boolean;
    connectCalled: boolean;
    attachKind: 'unsupportedCapability' | 'retryLater' | 'connected';
    attachOutcome?: 'startedEmpty' | 'seededFromLocal' | 'usedRemoteState';
    retryAfterSeconds?: number;
    bindingState?: string;
    pendingInitializationId?: string;
  };
}

interface ContractCase {
  name: string;
  localSpecs: { schema: string; table: string; sync_key_columns: string[] }[];
  advertised?: unknown;
  expected: {
    kind: 'match' | 'mismatch' | 'invalid';
    serverOnlyTables?: string[];
    clientOnlyTables?: string[];
    syncKeyMismatches?: unknown[];
  };
}

type AttachInterpretation =
  | { attachKind: 'unsupportedCapability' }
  | { attachKind: 'retryLater'; retryAfterSeconds: number | undefined }
  | {
      attachKind: 'connected';
      attachOutcome: 'startedEmpty' | 'seededFromLocal' | 'usedRemoteState';
      pendingInitializationId: string;
    };

const SOURCE = 'source-handshake';
const BASE = 'https://sync.test/api/v1/';

function jsonResponse(scripted: ScriptedResponse): Response {
  return new Response(JSON.stringify(scripted.body), {
    status: scripted.status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A scripted server answering by path; records every request. */
function scriptedApi(routes: Record<string, ScriptedResponse>) {
  const requests: { request: Request; body: string }[] = [];
  const api = createHttpRemoteApi({
    baseUrl: BASE,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      requests.push({ request, body: await request.clone().text() });
      const path = new URL(request.url).pathname;
      const scripted = routes[path];
      if (scripted === undefined) return new Response('not found', { status: 404 });
      return jsonResponse(scripted);
    },
  });
  return { api, requests };
}

/** What attach decides from capabilities and connect, per the mapping in the file header. */
async function interpretAttach(
  api: ReturnType<typeof createHttpRemoteApi>,
  local: LocalTableContract,
  hasLocalPendingRows: boolean,
): Promise<AttachInterpretation> {
  const ctx = { sourceId: SOURCE };
  const features = checkCapabilities(await api.capabilities(ctx), local);
  if (!features.connectLifecycle) return { attachKind: 'unsupportedCapability' };
  const connect = await api.connect(ctx, { has_local_pending_rows: hasLocalPendingRows });
  switch (connect.resolution) {
    case 'retry_later':
      return { attachKind: 'retryLater', retryAfterSeconds: connect.retry_after_seconds };
    case 'initialize_empty':
      return {
        attachKind: 'connected',
        attachOutcome: 'startedEmpty',
        pendingInitializationId: '',
      };
    case 'initialize_local':
      return {
        attachKind: 'connected',
        attachOutcome: 'seededFromLocal',
        pendingInitializationId: connect.initialization_id ?? '',
      };
    case 'remote_authoritative':
      return {
        attachKind: 'connected',
        attachOutcome: 'usedRemoteState',
        pendingInitializationId: '',
      };
  }
}

async function caught(promise: Promise<unknown>): Promise<OversyncClientError> {
  try {
    await promise;
  } catch (error) {
    if (isOversyncClientError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'protocol-handshake/connect.json' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixture = loadContract('protocol-handshake/connect.json') as {
    cases: ConnectCase[];
    contractCases: ContractCase[];
  };
  const usersLocal: LocalTableContract = {
    schema: 'main',
    tables: [{ tableName: 'users', keyColumn: 'id' }],
  };

  describe('cases', () => {
    it.each(fixture.cases)('$name', async (c) => {
      const routes: Record<string, ScriptedResponse> = {
        '/api/v1/sync/capabilities': c.capabilities,
      };
      if (c.connect !== null) routes['/api/v1/sync/connect'] = c.connect;
      const { api, requests } = scriptedApi(routes);

      const outcome = await interpretAttach(api, usersLocal, c.local.hasLocalPendingRows);

      const capsRequest = requests[0];
      expect(capsRequest?.request.method).toBe('GET');
      expect(new URL(capsRequest?.request.url ?? '').pathname).toBe('/api/v1/sync/capabilities');
      expect(capsRequest?.request.headers.get('Oversync-Source-ID')).toBe(SOURCE);

      const caps = await api.capabilities({ sourceId: SOURCE });
      expect(checkCapabilities(caps, usersLocal).connectLifecycle).toBe(
        c.expected.connectLifecycleSupported,
      );

      const connectRequests = requests.filter((r) => r.request.url.endsWith('/sync/connect'));
      expect(connectRequests.length > 0).toBe(c.expected.connectCalled);
      if (c.expected.connectCalled) {
        const connect = connectRequests[0];
        expect(connect?.request.method).toBe('POST');
        expect(new URL(connect?.request.url ?? '').pathname).toBe('/api/v1/sync/connect');
        expect(connect?.request.headers.get('Oversync-Source-ID')).toBe(SOURCE);
        expect(JSON.parse(connect?.body ?? '')).toEqual({
          has_local_pending_rows: c.local.hasLocalPendingRows,
        });
      }

      expect(outcome.attachKind).toBe(c.expected.attachKind);
      if (outcome.attachKind === 'retryLater') {
        expect(outcome.retryAfterSeconds).toBe(c.expected.retryAfterSeconds);
      }
      if (outcome.attachKind === 'connected') {
        expect(outcome.attachOutcome).toBe(c.expected.attachOutcome);
        expect(outcome.pendingInitializationId).toBe(c.expected.pendingInitializationId);
      }
    });
  });

  describe('contractCases', () => {
    const template = fixture.cases[0]?.capabilities.body as Record<string, unknown>;

    it.each(fixture.contractCases)('$name', async (c) => {
      const body: Record<string, unknown> = { ...template };
      if ('advertised' in c) body.registered_table_specs = c.advertised;
      else delete body.registered_table_specs;
      const { api } = scriptedApi({
        '/api/v1/sync/capabilities': { status: 200, body },
      });
      const schema = c.localSpecs[0]?.schema ?? '';
      expect(c.localSpecs.every((s) => s.schema === schema)).toBe(true);
      const local: LocalTableContract = {
        schema,
        tables: c.localSpecs.map((s) => ({
          tableName: s.table,
          keyColumn: s.sync_key_columns[0] ?? '',
        })),
      };
      const run = async () =>
        checkCapabilities(await api.capabilities({ sourceId: SOURCE }), local);

      if (c.expected.kind === 'match') {
        await expect(run()).resolves.toBeDefined();
        return;
      }
      const error = await caught(run());
      if (c.expected.kind === 'invalid') {
        expect(error.code).toBe('protocol_error');
        return;
      }
      expect(error.code).toBe('table_contract_mismatch');
      expect(error.details.serverOnlyTables).toEqual(c.expected.serverOnlyTables);
      expect(error.details.clientOnlyTables).toEqual(c.expected.clientOnlyTables);
      expect(error.details.syncKeyMismatches).toEqual(c.expected.syncKeyMismatches);
      for (const table of [
        ...(c.expected.serverOnlyTables ?? []),
        ...(c.expected.clientOnlyTables ?? []),
      ]) {
        expect(error.message).toContain(table);
      }
    });
  });

  describe('protocol version gate', () => {
    it('a capabilities document for another protocol generation fails before connect', async () => {
      const first = fixture.cases[0] as ConnectCase;
      const { api, requests } = scriptedApi({
        '/api/v1/sync/capabilities': {
          status: 200,
          body: { ...(first.capabilities.body as object), protocol_version: 'v2' },
        },
      });
      const error = await caught(interpretAttach(api, usersLocal, false));
      expect(error.code).toBe('protocol_version_mismatch');
      expect(requests).toHaveLength(1);
    });
  });
});
