/**
 * Wire validation over the shared fixtures:
 *
 * - `pull-snapshot/basic.json`: every case's pull, snapshot session and snapshot chunk bodies go
 *   through the semantic validators and through the real HTTP client; `expected*ErrorContains`
 *   fragments must appear in the `protocol_error` message; error responses surface as
 *   `http_error` with the server code; the replacement request body is what the client sends.
 * - `push/basic-insert.json`: push request/response bodies go through the real HTTP client,
 *   committed-row pages through `validateCommittedBundleChunk`, and the committed replay
 *   `bundle_hash` is recomputed (the fixture's placeholder hashes must be rejected).
 * - `canonical-json` `committed_bundle`: the published G2 hash vector is reproduced.
 *
 * Durable end states (`expectedFinalState`) belong to the pull/push/snapshot workflows and are
 * not asserted here.
 */

import {
  type BundleRow,
  pushRequestHash,
  type SnapshotChunkResponse,
  type SnapshotSession,
} from '@oversync/protocol';
import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type OversyncClientError } from '../src/errors.js';
import { createHttpRemoteApi } from '../src/remote/http-remote-api.js';
import {
  validateCommittedBundleChunk,
  validatePullResponse,
  validateSnapshotChunk,
  validateSnapshotSession,
  verifyCommittedBundleHash,
} from '../src/remote/validate-responses.js';

type Json = Record<string, unknown>;

interface ScriptedResponse {
  status: number;
  body: unknown;
}

const SOURCE = 'source-fixture';
const CTX = { sourceId: SOURCE };
const MAX_ROWS = 1000;
const MAX_BYTES = 4_194_304;

/** A client whose fetch answers every request with `response` and records the requests. */
function apiAnswering(response: ScriptedResponse) {
  const requests: { request: Request; body: string }[] = [];
  const api = createHttpRemoteApi({
    baseUrl: 'https://sync.test/',
    fetch: async (input, init) => {
      const request = new Request(input, init);
      requests.push({ request, body: await request.clone().text() });
      return new Response(JSON.stringify(response.body), {
        status: response.status,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
  return { api, requests };
}

function ok(body: unknown): ScriptedResponse {
  return { status: 200, body };
}

async function caught(run: () => unknown): Promise<OversyncClientError> {
  try {
    await run();
  } catch (error) {
    if (isOversyncClientError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

async function expectProtocolError(run: () => unknown, fragment: string): Promise<void> {
  const error = await caught(run);
  expect(error.code).toBe('protocol_error');
  expect(error.message).toContain(fragment);
}

/**
 * `canonical_request_hash` of the outbox a fixture `localWrite` produces: the fixture's writes are
 * single-row `INSERT INTO users(id, name) VALUES(...)` statements on `main.users`.
 */
async function localWriteHash(write: { sql: string } | undefined): Promise<string | undefined> {
  if (write === undefined) return undefined;
  const m = /^INSERT INTO users\(id, name\) VALUES\('([^']*)', '([^']*)'\)$/.exec(write.sql);
  if (m === null) throw new Error(`unsupported fixture localWrite ${write.sql}`);
  const [, id = '', name = ''] = m;
  return pushRequestHash([
    {
      schema: 'main',
      table: 'users',
      key: { id },
      op: 'INSERT',
      baseRowVersion: 0,
      payload: { id, name },
    },
  ]);
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'wire validation fixtures' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }

  describe('pull-snapshot/basic.json', () => {
    const fixture = loadContract('pull-snapshot/basic.json') as { cases: Json[] };

    it('has validation-only cases for every validator', () => {
      for (const member of [
        'expectedPullErrorContains',
        'expectedSnapshotSessionErrorContains',
        'expectedSnapshotChunkErrorContains',
      ]) {
        expect(fixture.cases.some((c) => member in c)).toBe(true);
      }
    });

    it.each(fixture.cases)('$name', async (c) => {
      let checked = 0;
      const after = (c.afterBundleSeq as number | undefined) ?? 0;

      if (c.pullResponse !== undefined) {
        checked++;
        const fragment = c.expectedPullErrorContains as string | undefined;
        const query = { afterBundleSeq: after, maxBundles: 1000 };
        const { api } = apiAnswering(ok(c.pullResponse));
        if (fragment === undefined) {
          expect(validatePullResponse(c.pullResponse, { afterBundleSeq: after })).toEqual(
            c.pullResponse,
          );
          expect(await api.pull(CTX, query)).toEqual(c.pullResponse);
        } else {
          await expectProtocolError(
            () => validatePullResponse(c.pullResponse, { afterBundleSeq: after }),
            fragment,
          );
          await expectProtocolError(() => api.pull(CTX, query), fragment);
        }
      }

      for (const member of ['historyPrunedResponse', 'checkpointAheadResponse']) {
        const scripted = c[member] as ScriptedResponse | undefined;
        if (scripted === undefined) continue;
        checked++;
        const { api } = apiAnswering(scripted);
        const error = await caught(() =>
          api.pull(CTX, { afterBundleSeq: after, maxBundles: 1000 }),
        );
        expect(error.code).toBe('http_error');
        expect(error.details.status).toBe(scripted.status);
        expect(error.details.serverError).toBe((scripted.body as Json).error);
        expect(error.details.body).toEqual(scripted.body);
      }

      if (c.sourceReplacementInvalidResponse !== undefined) {
        checked++;
        const scripted = c.sourceReplacementInvalidResponse as ScriptedResponse;
        const { api } = apiAnswering(scripted);
        const error = await caught(() =>
          api.createSnapshotSession(CTX, {
            source_replacement: {
              previous_source_id: SOURCE,
              new_source_id: 'replacement-source',
              reason: 'source_retired',
            },
          }),
        );
        expect(error.code).toBe('http_error');
        expect(error.details.status).toBe(409);
        expect(error.details.serverError).toBe('source_replacement_invalid');
      }

      let session: SnapshotSession | undefined;
      if (c.snapshotSession !== undefined) {
        checked++;
        const fragment = c.expectedSnapshotSessionErrorContains as string | undefined;
        const createRequest = c.snapshotSessionCreateRequest as
          | Parameters<ReturnType<typeof createHttpRemoteApi>['createSnapshotSession']>[1]
          | undefined;
        const { api, requests } = apiAnswering(ok(c.snapshotSession));
        const create = () => api.createSnapshotSession(CTX, createRequest);
        if (fragment === undefined) {
          session = validateSnapshotSession(c.snapshotSession);
          expect(session).toEqual(c.snapshotSession);
          expect(await create()).toEqual(c.snapshotSession);
          if (createRequest === undefined) expect(requests[0]?.body).toBe('');
          else expect(JSON.parse(requests[0]?.body ?? '')).toEqual(createRequest);
        } else {
          await expectProtocolError(() => validateSnapshotSession(c.snapshotSession), fragment);
          await expectProtocolError(create, fragment);
          // Chunk validation of the same case needs the session's numbers regardless.
          session = c.snapshotSession as SnapshotSession;
        }
      }

      if (c.snapshotChunkResponse !== undefined) {
        checked++;
        const fragment = c.expectedSnapshotChunkErrorContains as string | undefined;
        const chunkBody = c.snapshotChunkResponse as SnapshotChunkResponse;
        const afterRowOrdinal = (c.snapshotChunkAfterRowOrdinal as number | undefined) ?? 0;
        const request = {
          snapshotId: chunkBody.snapshot_id,
          afterRowOrdinal,
          maxRows: MAX_ROWS,
          maxBytes: MAX_BYTES,
        };
        const validate = () =>
          validateSnapshotChunk(chunkBody, {
            ...request,
            session: session as SnapshotSession,
            rowsSoFar: afterRowOrdinal,
            bytesSoFar: 0,
          });
        const { api, requests } = apiAnswering(ok(chunkBody));
        const fetchChunk = () =>
          api.snapshotChunk(CTX, request.snapshotId, {
            afterRowOrdinal,
            maxRows: MAX_ROWS,
            maxBytes: MAX_BYTES,
          });
        if (fragment === undefined) {
          expect(validate()).toEqual(chunkBody);
          expect(await fetchChunk()).toEqual(chunkBody);
          const url = new URL(requests[0]?.request.url ?? '');
          expect(Object.fromEntries(url.searchParams)).toEqual({
            after_row_ordinal: String(afterRowOrdinal),
            max_rows: String(MAX_ROWS),
            max_bytes: String(MAX_BYTES),
          });
        } else {
          await expectProtocolError(validate, fragment);
          // Every chunk-only rule is also enforced by the HTTP client itself.
          await expectProtocolError(fetchChunk, fragment);
        }
      }

      expect(checked, 'case exercised no wire member').toBeGreaterThan(0);
    });
  });

  describe('push/basic-insert.json', () => {
    const fixture = loadContract('push/basic-insert.json') as { cases: Json[] };
    const pushId = '11111111-1111-4111-8111-111111111111';

    it.each(fixture.cases)('$name', async (c) => {
      let checked = 0;
      const localHash =
        ((c.pushSessionCreateRequest as Json | undefined)?.canonical_request_hash as
          | string
          | undefined) ?? (await localWriteHash(c.localWrite as { sql: string } | undefined));

      if (c.pushSessionCreateRequest !== undefined && c.pushSessionCreateResponse !== undefined) {
        checked++;
        const req = c.pushSessionCreateRequest as Json;
        const { api, requests } = apiAnswering(ok(c.pushSessionCreateResponse));
        const created = await api.createPushSession(CTX, {
          source_bundle_id: req.source_bundle_id as number,
          planned_row_count: req.planned_row_count as number,
          canonical_request_hash: req.canonical_request_hash as string,
        });
        expect(created).toEqual(c.pushSessionCreateResponse);
        expect(JSON.parse(requests[0]?.body ?? '')).toEqual(req);
      }

      if (c.pushChunkRequest !== undefined && c.pushChunkResponse !== undefined) {
        checked++;
        const req = c.pushChunkRequest as { start_row_ordinal: number; rows: never[] };
        const { api, requests } = apiAnswering(ok(c.pushChunkResponse));
        expect(await api.uploadPushChunk(CTX, pushId, req)).toEqual(c.pushChunkResponse);
        expect(JSON.parse(requests[0]?.body ?? '')).toEqual(req);
        expect(new URL(requests[0]?.request.url ?? '').pathname).toBe(
          `/sync/push-sessions/${pushId}/chunks`,
        );
      }

      let committed: Json | undefined;
      if (c.pushCommitResponse !== undefined) {
        checked++;
        const { api, requests } = apiAnswering(ok(c.pushCommitResponse));
        const commit = await api.commitPushSession(CTX, pushId);
        expect(commit).toEqual(c.pushCommitResponse);
        expect(requests[0]?.body).toBe('');
        committed = commit;
      } else if (
        (c.pushSessionCreateResponse as Json | undefined)?.status === 'already_committed'
      ) {
        committed = c.pushSessionCreateResponse as Json;
      }

      if (c.pushConflictResponse !== undefined) {
        checked++;
        const { api } = apiAnswering({ status: 409, body: c.pushConflictResponse });
        const error = await caught(() => api.commitPushSession(CTX, pushId));
        expect(error.code).toBe('http_error');
        expect(error.category).toBe('network');
        expect(error.details.status).toBe(409);
        expect(error.details.serverError).toBe('push_conflict');
        expect(error.details.body).toEqual(c.pushConflictResponse);
      }

      if (c.committedBundleRowsResponse !== undefined) {
        checked++;
        const page = c.committedBundleRowsResponse as Json;
        const identity = committed ?? page;
        const { api, requests } = apiAnswering(ok(page));
        const fetched = await api.committedBundleRows(CTX, identity.bundle_seq as number, {
          maxRows: 1000,
        });
        expect(fetched).toEqual(page);
        expect(Object.fromEntries(new URL(requests[0]?.request.url ?? '').searchParams)).toEqual({
          max_rows: '1000',
        });
        const expected = {
          bundleSeq: identity.bundle_seq as number,
          sourceId: identity.source_id as string,
          sourceBundleId: identity.source_bundle_id as number,
          rowCount: identity.row_count as number,
          bundleHash: identity.bundle_hash as string,
        };
        // The server's own echo is consistent with the commit answer.
        expect(
          validateCommittedBundleChunk(fetched, {
            ...expected,
            canonicalRequestHash: identity.canonical_request_hash as string,
          }),
        ).toEqual(page);
        // Against the client's prepared request hash, a divergent server hash is a
        // source-sequence mismatch (the push workflow maps it per outbox state: `prepared` keeps
        // it as source_sequence_mismatch, `committed_remote` turns it into rebuild_required).
        if (localHash !== undefined && localHash !== page.canonical_request_hash) {
          const error = await caught(() =>
            validateCommittedBundleChunk(fetched, { ...expected, canonicalRequestHash: localHash }),
          );
          expect(error.code).toBe('source_sequence_mismatch');
        }

        // The fixture's bundle_hash values are placeholders, so replay must fail closed...
        const rows = fetched.rows as BundleRow[];
        const hashError = await caught(() =>
          verifyCommittedBundleHash(rows, identity.bundle_hash as string),
        );
        expect(hashError.code).toBe('protocol_error');
        expect(hashError.details.expected).toBe(identity.bundle_hash);
        // ...and succeeds with the hash the rows really have.
        const real = hashError.details.actual as string;
        expect(real).toMatch(/^[0-9a-f]{64}$/);
        await expect(verifyCommittedBundleHash(rows, real)).resolves.toBeUndefined();
      }

      expect(checked, 'case exercised no wire member').toBeGreaterThan(0);
    });
  });

  describe('canonical-json committed_bundle vector', () => {
    it('verifyCommittedBundleHash reproduces the published bundle_hash', async () => {
      const fx = loadContract('canonical-json/jcs-uniform-numeric-strings.json') as {
        canonical_examples: { committed_bundle: { canonical_bytes: string; sha256: string } };
      };
      const vector = fx.canonical_examples.committed_bundle;
      const hashRows = JSON.parse(vector.canonical_bytes) as (Json & { row_version: string })[];
      const rows = hashRows.map((r) => ({
        schema: r.schema,
        table: r.table,
        key: r.key,
        op: r.op,
        row_version: Number(r.row_version),
        payload: r.payload,
      })) as BundleRow[];
      await expect(verifyCommittedBundleHash(rows, vector.sha256)).resolves.toBeUndefined();
      const error = await caught(() => verifyCommittedBundleHash(rows, 'f'.repeat(64)));
      expect(error.code).toBe('protocol_error');
    });
  });
});
