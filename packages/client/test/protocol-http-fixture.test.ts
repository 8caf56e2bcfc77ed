/**
 * Fixture `protocol-http/requests.json`: every public operation goes through the real
 * request-building code of `createHttpRemoteApi` against an injected `fetch` that records the
 * Request; method, base-path-preserving path, query, `Oversync-Source-ID` and body are asserted,
 * and no body carries a `source_id` member.
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { createHttpRemoteApi } from '../src/remote/http-remote-api.js';
import type { RemoteApi, RequestContext } from '../src/remote/remote-api.js';

interface RequestCase {
  name: string;
  operation: string;
  sourceId: string;
  args?: Record<string, unknown>;
  expected: {
    method: string;
    path: string;
    query: Record<string, string>;
    sourceHeader: string;
    body: unknown;
    bodyMustNotContain?: string[];
  };
}

interface Recorded {
  request: Request;
  bodyText: string;
}

const HASH_A = 'a'.repeat(64);
const SESSION = {
  snapshot_id: 'snapshot-fixture',
  snapshot_bundle_seq: 6,
  row_count: 0,
  byte_count: 0,
  expires_at: '2099-01-01T00:00:00Z',
};

/** A minimal valid 2xx answer for each operation, so the call completes. */
function cannedResponse(c: RequestCase): Response {
  const args = c.args ?? {};
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  switch (c.operation) {
    case 'capabilities':
      return json({
        protocol_version: 'v1',
        schema_version: 1,
        registered_table_specs: [],
        features: {},
        bundle_limits: {
          default_rows_per_snapshot_chunk: 1000,
          max_rows_per_snapshot_chunk: 4000,
          default_bytes_per_snapshot_chunk: 4194304,
          max_bytes_per_snapshot_chunk: 16777216,
          max_bytes_per_snapshot_row: 4194304,
          max_concurrent_snapshot_builds: 2,
          max_concurrent_snapshot_chunk_requests: 8,
        },
      });
    case 'connect':
      return json({ resolution: 'initialize_empty' });
    case 'pull':
      return json({ stable_bundle_seq: args.targetBundleSeq, bundles: [], has_more: false });
    case 'pushSessionCreate':
      return json({
        status: 'staging',
        push_id: '11111111-1111-4111-8111-111111111111',
        planned_row_count: args.plannedRowCount,
        next_expected_row_ordinal: 0,
        canonical_request_hash: HASH_A,
      });
    case 'pushSessionChunk':
      return json({ push_id: args.pushId, next_expected_row_ordinal: 1 });
    case 'pushSessionCommit':
      return json({
        bundle_seq: 1,
        source_id: c.sourceId,
        source_bundle_id: 1,
        row_count: 1,
        bundle_hash: 'b'.repeat(64),
        canonical_request_hash: HASH_A,
      });
    case 'committedRows':
      return json({
        bundle_seq: args.bundleSeq,
        source_id: c.sourceId,
        source_bundle_id: 1,
        row_count: 5,
        bundle_hash: 'b'.repeat(64),
        canonical_request_hash: HASH_A,
        rows: [],
        next_row_ordinal: args.afterRowOrdinal,
        has_more: false,
      });
    case 'snapshotSession':
    case 'sourceReplacement':
      return json(SESSION);
    case 'snapshotChunk':
      return json({
        snapshot_id: args.snapshotId,
        snapshot_bundle_seq: args.snapshotBundleSeq,
        rows: [],
        next_row_ordinal: args.afterRowOrdinal,
        has_more: false,
        byte_count: 0,
      });
    case 'watch':
      return new Response(': heartbeat\n\n', { headers: { 'content-type': 'text/event-stream' } });
    default:
      throw new Error(`fixture operation ${c.operation} has no canned response`);
  }
}

/** Calls the operation the fixture case names, with the fixture's arguments. */
async function invoke(api: RemoteApi, ctx: RequestContext, c: RequestCase): Promise<void> {
  const args = c.args ?? {};
  const body = c.expected.body as Record<string, unknown> | null;
  switch (c.operation) {
    case 'capabilities':
      await api.capabilities(ctx);
      return;
    case 'connect':
      await api.connect(ctx, { has_local_pending_rows: args.hasLocalPendingRows as boolean });
      return;
    case 'pull':
      await api.pull(ctx, {
        afterBundleSeq: args.afterBundleSeq as number,
        maxBundles: args.maxBundles as number,
        targetBundleSeq: args.targetBundleSeq as number,
      });
      return;
    case 'pushSessionCreate':
      await api.createPushSession(ctx, {
        source_bundle_id: args.sourceBundleId as number,
        planned_row_count: args.plannedRowCount as number,
        // The hash is computed from the outbox by the push workflow; the fixture pins its value.
        canonical_request_hash: body?.canonical_request_hash as string,
        initialization_id: args.initializationId as string,
      });
      return;
    case 'pushSessionChunk':
      await api.uploadPushChunk(ctx, args.pushId as string, {
        start_row_ordinal: args.startRowOrdinal as number,
        // The rows come from the outbox; the fixture pins their wire form.
        rows: body?.rows as never,
      });
      return;
    case 'pushSessionCommit':
      await api.commitPushSession(ctx, args.pushId as string);
      return;
    case 'committedRows':
      await api.committedBundleRows(ctx, args.bundleSeq as number, {
        afterRowOrdinal: args.afterRowOrdinal as number,
        maxRows: args.maxRows as number,
      });
      return;
    case 'snapshotSession':
      await api.createSnapshotSession(ctx);
      return;
    case 'snapshotChunk':
      await api.snapshotChunk(ctx, args.snapshotId as string, {
        afterRowOrdinal: args.afterRowOrdinal as number,
        maxRows: args.maxRows as number,
        maxBytes: args.maxBytes as number,
      });
      return;
    case 'sourceReplacement':
      await api.createSnapshotSession(ctx, {
        source_replacement: {
          previous_source_id: args.previousSourceId as string,
          new_source_id: args.newSourceId as string,
          reason: args.reason as 'source_retired',
        },
      });
      return;
    case 'watch': {
      const stream = await api.watch(ctx, args.afterBundleSeq as number);
      for await (const item of stream) expect(item).toEqual({ type: 'heartbeat' });
      await stream.close();
      return;
    }
    default:
      throw new Error(`unknown fixture operation ${c.operation}`);
  }
}

/** Every member name at any depth of a JSON value. */
function memberNames(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) memberNames(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [name, member] of Object.entries(value)) {
      out.push(name);
      memberNames(member, out);
    }
  }
  return out;
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'protocol-http/requests.json' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixture = loadContract('protocol-http/requests.json') as {
    baseUri: string;
    cases: RequestCase[];
  };

  it('covers every RemoteApi operation that sends a request', () => {
    expect(new Set(fixture.cases.map((c) => c.operation))).toEqual(
      new Set([
        'capabilities',
        'connect',
        'pull',
        'pushSessionCreate',
        'pushSessionChunk',
        'pushSessionCommit',
        'committedRows',
        'snapshotSession',
        'snapshotChunk',
        'sourceReplacement',
        'watch',
      ]),
    );
  });

  // The fixture's base URI has a trailing slash; the client must also keep the path without one.
  for (const baseUrl of [fixture.baseUri, fixture.baseUri.replace(/\/$/, '')]) {
    describe(`base ${baseUrl}`, () => {
      it.each(fixture.cases)('$name', async (c) => {
        const recorded: Recorded[] = [];
        const api = createHttpRemoteApi({
          baseUrl,
          getToken: () => 'token-1',
          fetch: async (input, init) => {
            const request = new Request(input, init);
            recorded.push({ request, bodyText: await request.clone().text() });
            return cannedResponse(c);
          },
        });
        await invoke(api, { sourceId: c.sourceId }, c);

        expect(recorded).toHaveLength(1);
        const { request, bodyText } = recorded[0] as Recorded;
        const url = new URL(request.url);
        expect(request.method).toBe(c.expected.method);
        expect(`${url.protocol}//${url.host}`).toBe(new URL(fixture.baseUri).origin);
        expect(url.pathname).toBe(c.expected.path);
        expect(Object.fromEntries(url.searchParams)).toEqual(c.expected.query);
        expect(request.headers.get('Oversync-Source-ID')).toBe(c.expected.sourceHeader);
        expect(request.headers.get('Authorization')).toBe('Bearer token-1');
        expect(request.headers.get('Accept')).toBe(
          c.operation === 'watch' ? 'text/event-stream' : 'application/json',
        );
        if (c.expected.body === null) {
          expect(bodyText).toBe('');
          expect(request.headers.get('Content-Type')).toBeNull();
        } else {
          expect(request.headers.get('Content-Type')).toBe('application/json');
          const body = JSON.parse(bodyText);
          expect(body).toEqual(c.expected.body);
          for (const forbidden of c.expected.bodyMustNotContain ?? []) {
            expect(Object.keys(body)).not.toContain(forbidden);
            expect(memberNames(body)).not.toContain(forbidden);
          }
        }
      });
    });
  }
});
