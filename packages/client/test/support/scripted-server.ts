/**
 * A fake G2 sync server driven by a fixture case's `serverScript`, exposed as a `fetch`
 * function so the client's real HTTP request building and response decoding
 * (`src/remote/http-remote-api.ts`) run unchanged.
 *
 * It reproduces the servers of the KMP fixture runners (`SharedLifecycleBehaviorFixtureTest`,
 * `SharedRuntimeStateFixtureSupport`, `BundleClientContractTestSupport.FakeChunkedSyncServer`):
 *
 * - `GET sync/capabilities`: protocol `v1` (or the script's `protocolVersions[i]` for the i-th
 *   request, the last one repeating), `features.connect_lifecycle`, one `main.users(id)` table
 *   spec and the KMP test bundle limits;
 * - `POST sync/connect`: `initialize_local` (with a lease) when the client reports pending rows,
 *   else `initialize_empty`; a script with its own `connectResolution` or `protocolVersions`
 *   answers that resolution (default `initialize_empty`) regardless of pending rows;
 * - push sessions, chunks, commit, committed-bundle rows and pull of an in-memory bundle log
 *   (committed rows get `row_version = bundle_seq`, `bundle_hash` from `@oversync/protocol`);
 * - snapshot sessions and chunks from the script's `snapshots` (session `byte_count` and chunk
 *   `byte_count` as the reference fixture server counts it, see {@link fixtureSnapshotRowByteCount}), scripted session errors, forced chunk failures;
 * - every other route: `404` with the protocol error body.
 *
 * Script kinds: lifecycle `default` / `chunked_sync` / `snapshot_rebuild` /
 * `remote_authoritative_partial_snapshot`; runtime-state `default` / `precommit_retry` /
 * `committed_replay_first_fetch_http_error` / `committed_bundle_seq_gap` /
 * `source_retired_on_push_create` / `pull_incremental_users`.
 *
 * @module
 */

import { randomUUID } from 'node:crypto';
import { type BundleHashRow, bundleHash, canonicalJson, utf8ByteLength } from '@oversync/protocol';

/** The fixture family: the two KMP runners install different default routes. */
export type ScriptFamily = 'lifecycle' | 'runtime-state';

/** One snapshot row of a lifecycle script. */
export interface ScriptSnapshotRow {
  readonly key: Record<string, string>;
  readonly rowVersion: number;
  readonly payload: Record<string, unknown>;
}

/** One snapshot of a lifecycle script, served by the n-th snapshot session. */
export interface ScriptSnapshot {
  readonly id: string;
  readonly bundleSeq: number;
  /** A chunk request with this `after_row_ordinal` answers 500. */
  readonly failAfterRowOrdinal?: number;
  readonly rowsPerChunk?: number;
  readonly rows: readonly ScriptSnapshotRow[];
}

/** A scripted snapshot-session error (consumes one session slot). */
export interface ScriptSnapshotSessionError {
  readonly status?: number;
  readonly error: string;
  readonly message: string;
  readonly sourceId?: string;
  readonly replacedBySourceId?: string;
}

/** A case's `serverScript` (both fixture families). */
export interface ServerScript {
  readonly kind?: string;
  readonly connectResolution?: string;
  readonly protocolVersions?: readonly string[];
  readonly lateWritesByPull?: readonly (readonly string[])[];
  readonly snapshots?: readonly ScriptSnapshot[];
  readonly snapshotSessionErrors?: readonly ScriptSnapshotSessionError[];
  readonly bundleSeq?: number;
  readonly replacementSourceId?: string;
  readonly response?: unknown;
}

/** A recorded `POST sync/push-sessions`. */
export interface RecordedCreateRequest {
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly plannedRowCount: number;
  readonly canonicalRequestHash: string;
  readonly initializationId?: string;
}

/** Options of {@link createScriptedServer}. */
export interface ScriptedServerOptions {
  readonly family: ScriptFamily;
  /** Runs app SQL (`lateWritesByPull`) before a pull response is sent. */
  readonly runSql?: (statements: readonly string[]) => Promise<void>;
}

/** What a step's `expectedServerState` is compared with. */
export interface ScriptedServerRecord {
  readonly createRequests: RecordedCreateRequest[];
  snapshotSessionCreateCount: number;
  /** Canonical JSON of each snapshot-session request's `source_replacement` ('' when absent). */
  readonly snapshotSourceReplacementRequests: string[];
  capabilitiesRequestCount: number;
  commitRequestCount: number;
  /** `METHOD path?query` of every request, in order (diagnostics). */
  readonly requests: string[];
}

/** The fake server. */
export interface ScriptedServer {
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  readonly record: ScriptedServerRecord;
}

/** Lease id the default connect hands out for `initialize_local` (the KMP test constant). */
export const TEST_INITIALIZATION_ID = '22222222-2222-4222-8222-222222222222';

/** The KMP runners' `testBundleCapabilitiesLimits()`. */
const BUNDLE_LIMITS = {
  max_rows_per_bundle: 100_000,
  max_bytes_per_bundle: 64 * 1024 * 1024,
  max_bundles_per_pull: 1000,
  default_rows_per_push_chunk: 1000,
  max_rows_per_push_chunk: 10_000,
  push_session_ttl_seconds: 900,
  default_rows_per_committed_bundle_chunk: 1000,
  max_rows_per_committed_bundle_chunk: 10_000,
  default_rows_per_snapshot_chunk: 1000,
  max_rows_per_snapshot_chunk: 10_000,
  snapshot_session_ttl_seconds: 900,
  max_rows_per_snapshot_session: 10_000_000,
  max_bytes_per_snapshot_session: 2 * 1024 * 1024 * 1024,
  default_bytes_per_snapshot_chunk: 4 * 1024 * 1024,
  max_bytes_per_snapshot_chunk: 16 * 1024 * 1024,
  max_bytes_per_snapshot_row: 4 * 1024 * 1024,
  snapshot_materialization_batch_rows: 1000,
  snapshot_materialization_batch_bytes: 4 * 1024 * 1024,
  max_concurrent_snapshot_builds: 2,
  max_concurrent_snapshot_chunk_requests: 8,
  initialization_lease_ttl_seconds: 900,
};

const LIFECYCLE_KINDS = new Set([
  'default',
  'chunked_sync',
  'snapshot_rebuild',
  'remote_authoritative_partial_snapshot',
]);
const RUNTIME_STATE_KINDS = new Set([
  'default',
  'precommit_retry',
  'committed_replay_first_fetch_http_error',
  'committed_bundle_seq_gap',
  'source_retired_on_push_create',
  'pull_incremental_users',
]);

interface CommittedRow {
  readonly schema: string;
  readonly table: string;
  readonly key: Record<string, string>;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly row_version: number;
  readonly payload?: Record<string, unknown> | null;
}

interface StoredBundle {
  readonly bundleSeq: number;
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly bundleHash: string;
  readonly canonicalRequestHash: string;
  readonly rows: readonly CommittedRow[];
}

interface PushSession {
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly plannedRowCount: number;
  readonly canonicalRequestHash: string;
  readonly rows: Record<string, unknown>[];
}

interface ParsedRequest {
  readonly method: string;
  /** Path relative to the base URL, without a leading slash (`sync/pull`). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly sourceId: string;
  readonly body: unknown;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A protocol error body `{error, message, ...extra}`. */
export function errorResponse(
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): Response {
  return json(status, { error, message, ...extra });
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The `byte_count` the reference fixture server gives one snapshot row: the UTF-8 length of the
 * row pretty-printed with a two-space indent (the KMP runner encodes rows with its
 * `prettyPrint = true` contract JSON). The protocol's own definition (`snapshotRowByteCount`,
 * canonical JSON) gives smaller numbers, but the lifecycle fixtures pin the server's numbers in
 * `_sync_operation_state.snapshot_byte_count` (313 / 312 for their two-row remote replaces), and
 * the client only checks byte counts for consistency, never recomputes them.
 */
export function fixtureSnapshotRowByteCount(row: ReturnType<typeof snapshotRowOf>): number {
  return utf8ByteLength(JSON.stringify(row, null, 2));
}

function snapshotRowOf(row: ScriptSnapshotRow) {
  return {
    schema: 'main',
    table: 'users',
    key: row.key,
    row_version: row.rowVersion,
    payload: row.payload,
  };
}

/**
 * Creates the fake server for one fixture case.
 *
 * @example
 * ```ts
 * const server = createScriptedServer(testCase.serverScript, { family: 'lifecycle', runSql });
 * const client = createOversyncClient({ driver, baseUrl: server.baseUrl, fetch: server.fetch, tables });
 * ```
 */
export function createScriptedServer(
  script: ServerScript | null | undefined,
  options: ScriptedServerOptions,
): ScriptedServer {
  const s: ServerScript = script ?? {};
  const kind = s.kind ?? 'default';
  const known = options.family === 'lifecycle' ? LIFECYCLE_KINDS : RUNTIME_STATE_KINDS;
  if (!known.has(kind)) throw new Error(`unknown ${options.family} server script kind ${kind}`);

  const record: ScriptedServerRecord = {
    createRequests: [],
    snapshotSessionCreateCount: 0,
    snapshotSourceReplacementRequests: [],
    capabilitiesRequestCount: 0,
    commitRequestCount: 0,
    requests: [],
  };
  const routes: {
    method: string;
    pattern: RegExp;
    handler: (req: ParsedRequest, m: RegExpMatchArray) => Promise<Response> | Response;
  }[] = [];
  const route = (
    method: string,
    pattern: RegExp,
    handler: (req: ParsedRequest, m: RegExpMatchArray) => Promise<Response> | Response,
  ): void => {
    routes.push({ method, pattern, handler });
  };

  // --- capabilities + connect ---------------------------------------------------------------
  const protocolVersions =
    s.protocolVersions && s.protocolVersions.length > 0 ? s.protocolVersions : ['v1'];
  const connectResolution = s.connectResolution ?? 'default';
  const customConnect =
    options.family === 'lifecycle' &&
    (connectResolution !== 'default' ||
      protocolVersions.length !== 1 ||
      protocolVersions[0] !== 'v1');

  route('GET', /^sync\/capabilities$/, () => {
    const version =
      protocolVersions[Math.min(record.capabilitiesRequestCount, protocolVersions.length - 1)];
    record.capabilitiesRequestCount++;
    return json(200, {
      protocol_version: version,
      schema_version: 1,
      registered_table_specs: [{ schema: 'main', table: 'users', sync_key_columns: ['id'] }],
      features: { connect_lifecycle: true },
      bundle_limits: BUNDLE_LIMITS,
    });
  });
  route('POST', /^sync\/connect$/, (req) => {
    if (customConnect) {
      const resolution = connectResolution === 'default' ? 'initialize_empty' : connectResolution;
      return json(200, { resolution });
    }
    const pending =
      (req.body as { has_local_pending_rows?: unknown } | null)?.has_local_pending_rows === true;
    return json(
      200,
      pending
        ? {
            resolution: 'initialize_local',
            initialization_id: TEST_INITIALIZATION_ID,
            lease_expires_at: '2099-01-01T00:00:00Z',
          }
        : { resolution: 'initialize_empty' },
    );
  });

  // --- chunked push / committed bundles / pull ----------------------------------------------
  const chunked =
    options.family === 'lifecycle' ? kind === 'chunked_sync' : kind !== 'pull_incremental_users';
  if (chunked) {
    const bundles: StoredBundle[] = [];
    const applied = new Map<string, StoredBundle>();
    const sessions = new Map<string, PushSession>();
    let nextBundleSeq = kind === 'committed_bundle_seq_gap' ? (s.bundleSeq ?? 1) : 1;
    let commitFailed = false;
    let committedFetchFailed = false;
    let pullIndex = 0;

    const committedEcho = (b: StoredBundle) => ({
      bundle_seq: b.bundleSeq,
      source_id: b.sourceId,
      source_bundle_id: b.sourceBundleId,
      row_count: b.rows.length,
      bundle_hash: b.bundleHash,
      canonical_request_hash: b.canonicalRequestHash,
    });

    route('POST', /^sync\/push-sessions$/, (req) => {
      const body = req.body as {
        source_bundle_id: number;
        planned_row_count: number;
        canonical_request_hash?: string;
        initialization_id?: string;
      };
      const recorded: RecordedCreateRequest = {
        sourceId: req.sourceId,
        sourceBundleId: body.source_bundle_id,
        plannedRowCount: body.planned_row_count,
        canonicalRequestHash: body.canonical_request_hash ?? '',
        ...(body.initialization_id === undefined
          ? {}
          : { initializationId: body.initialization_id }),
      };
      record.createRequests.push(recorded);
      if (kind === 'source_retired_on_push_create') {
        return errorResponse(409, 'source_retired', 'source retired', {
          source_id: req.sourceId,
          replaced_by_source_id: s.replacementSourceId ?? 'replacement-source',
        });
      }
      const done = applied.get(`${req.sourceId}\u0000${body.source_bundle_id}`);
      if (done) return json(200, { status: 'already_committed', ...committedEcho(done) });
      const pushId = randomUUID();
      sessions.set(pushId, {
        sourceId: req.sourceId,
        sourceBundleId: body.source_bundle_id,
        plannedRowCount: body.planned_row_count,
        canonicalRequestHash: recorded.canonicalRequestHash,
        rows: [],
      });
      return json(200, {
        push_id: pushId,
        status: 'staging',
        planned_row_count: body.planned_row_count,
        next_expected_row_ordinal: 0,
        canonical_request_hash: recorded.canonicalRequestHash,
      });
    });

    route('POST', /^sync\/push-sessions\/([^/]+)\/chunks$/, (req, m) => {
      const pushId = decodeURIComponent(m[1] ?? '');
      const session = sessions.get(pushId);
      if (!session) return errorResponse(404, 'push_session_not_found', 'unknown push session');
      const body = req.body as { start_row_ordinal: number; rows: Record<string, unknown>[] };
      if (body.start_row_ordinal !== session.rows.length) {
        return errorResponse(409, 'push_chunk_out_of_order', 'out of order');
      }
      session.rows.push(...body.rows);
      return json(200, { push_id: pushId, next_expected_row_ordinal: session.rows.length });
    });

    route('POST', /^sync\/push-sessions\/([^/]+)\/commit$/, async (_req, m) => {
      const pushId = decodeURIComponent(m[1] ?? '');
      const session = sessions.get(pushId);
      if (!session) return errorResponse(404, 'push_session_not_found', 'unknown push session');
      record.commitRequestCount++;
      if (kind === 'precommit_retry' && !commitFailed) {
        commitFailed = true;
        return errorResponse(500, 'temporary', 'retry');
      }
      const key = `${session.sourceId}\u0000${session.sourceBundleId}`;
      const existing = applied.get(key);
      if (existing) return json(200, committedEcho(existing));
      const bundleSeq = nextBundleSeq++;
      const rows: CommittedRow[] = session.rows.map((r) => ({
        schema: String(r.schema),
        table: String(r.table),
        key: r.key as Record<string, string>,
        op: r.op as CommittedRow['op'],
        row_version: bundleSeq,
        ...(r.payload === undefined
          ? {}
          : { payload: r.payload as Record<string, unknown> | null }),
      }));
      const hashRows: BundleHashRow[] = rows.map((r) => ({
        schema: r.schema,
        table: r.table,
        key: r.key,
        op: r.op,
        rowVersion: r.row_version,
        payload: r.payload ?? null,
      }));
      const stored: StoredBundle = {
        bundleSeq,
        sourceId: session.sourceId,
        sourceBundleId: session.sourceBundleId,
        bundleHash: await bundleHash(hashRows),
        canonicalRequestHash: session.canonicalRequestHash,
        rows,
      };
      bundles.push(stored);
      applied.set(key, stored);
      return json(200, committedEcho(stored));
    });

    route('DELETE', /^sync\/push-sessions\/([^/]+)$/, (_req, m) => {
      sessions.delete(decodeURIComponent(m[1] ?? ''));
      return new Response(null, { status: 204 });
    });

    route('GET', /^sync\/committed-bundles\/(\d+)\/rows$/, (req, m) => {
      const bundleSeq = Number(m[1]);
      if (kind === 'committed_replay_first_fetch_http_error' && !committedFetchFailed) {
        committedFetchFailed = true;
        return errorResponse(500, 'temporary', 'retry');
      }
      const bundle = bundles.find((b) => b.bundleSeq === bundleSeq);
      if (!bundle)
        return errorResponse(404, 'committed_bundle_not_found', `bundle ${bundleSeq} not found`);
      const after = intParam(req.query, 'after_row_ordinal') ?? -1;
      const maxRows = intParam(req.query, 'max_rows') ?? 1000;
      const rest = bundle.rows.slice(after + 1);
      const page = rest.slice(0, maxRows);
      return json(200, {
        ...committedEcho(bundle),
        rows: page,
        next_row_ordinal: page.length === 0 ? after : after + page.length,
        has_more: rest.length > page.length,
      });
    });

    route('GET', /^sync\/pull$/, async (req) => {
      const after = intParam(req.query, 'after_bundle_seq') ?? 0;
      const target = intParam(req.query, 'target_bundle_seq') ?? 0;
      const stable = bundles.reduce((max, b) => Math.max(max, b.bundleSeq), 0);
      const ceiling = target > 0 ? target : stable;
      const late = s.lateWritesByPull?.[pullIndex];
      pullIndex++;
      if (late && late.length > 0) {
        if (!options.runSql) throw new Error('lateWritesByPull needs runSql');
        await options.runSql(late);
      }
      return json(200, {
        stable_bundle_seq: stable,
        bundles: bundles
          .filter((b) => b.bundleSeq > after && b.bundleSeq <= ceiling)
          .map((b) => ({
            bundle_seq: b.bundleSeq,
            source_id: b.sourceId,
            source_bundle_id: b.sourceBundleId,
            rows: b.rows,
          })),
        has_more: false,
      });
    });
  }

  if (options.family === 'runtime-state' && kind === 'pull_incremental_users') {
    if (s.response === undefined) throw new Error('pull_incremental_users needs a response');
    route('GET', /^sync\/pull$/, () => json(200, s.response));
  }

  // --- snapshot sessions ----------------------------------------------------------------------
  const snapshots = s.snapshots ?? [];
  const sessionErrors = s.snapshotSessionErrors ?? [];
  if (snapshots.length > 0 || sessionErrors.length > 0) {
    let nextSnapshotIndex = 0;
    route('POST', /^sync\/snapshot-sessions$/, (req) => {
      record.snapshotSessionCreateCount++;
      const replacement = (req.body as { source_replacement?: unknown } | null)?.source_replacement;
      record.snapshotSourceReplacementRequests.push(
        replacement === undefined || replacement === null ? '' : canonicalJson(replacement),
      );
      const scripted = sessionErrors[nextSnapshotIndex];
      if (scripted) {
        nextSnapshotIndex++;
        return errorResponse(scripted.status ?? 409, scripted.error, scripted.message, {
          source_id: scripted.sourceId ?? 'current-source',
          ...(scripted.replacedBySourceId === undefined
            ? {}
            : { replaced_by_source_id: scripted.replacedBySourceId }),
        });
      }
      const snapshot = snapshots[Math.min(nextSnapshotIndex, snapshots.length - 1)];
      nextSnapshotIndex++;
      if (!snapshot) return errorResponse(500, 'internal_error', 'no scripted snapshot left');
      return json(200, {
        snapshot_id: snapshot.id,
        snapshot_bundle_seq: snapshot.bundleSeq,
        row_count: snapshot.rows.length,
        byte_count: snapshot.rows.reduce(
          (sum, r) => sum + fixtureSnapshotRowByteCount(snapshotRowOf(r)),
          0,
        ),
        expires_at: '2099-01-01T00:00:00Z',
      });
    });
    route('GET', /^sync\/snapshot-sessions\/([^/]+)$/, (req, m) => {
      const id = decodeURIComponent(m[1] ?? '');
      const snapshot = snapshots.find((x) => x.id === id);
      if (!snapshot)
        return errorResponse(404, 'snapshot_session_not_found', `unknown snapshot ${id}`);
      const after = intParam(req.query, 'after_row_ordinal') ?? 0;
      if (snapshot.failAfterRowOrdinal === after) {
        return errorResponse(500, 'snapshot_failed', 'forced snapshot failure');
      }
      const maxRows = intParam(req.query, 'max_rows') ?? 1000;
      const limit = Math.min(maxRows, snapshot.rowsPerChunk ?? maxRows);
      const rows = snapshot.rows.slice(after, after + limit).map(snapshotRowOf);
      const next = after + rows.length;
      return json(200, {
        snapshot_id: snapshot.id,
        snapshot_bundle_seq: snapshot.bundleSeq,
        byte_count: rows.reduce((sum, r) => sum + fixtureSnapshotRowByteCount(r), 0),
        rows,
        next_row_ordinal: next,
        has_more: next < snapshot.rows.length,
      });
    });
    route(
      'DELETE',
      /^sync\/snapshot-sessions\/([^/]+)$/,
      () => new Response(null, { status: 204 }),
    );
  }

  const baseUrl = 'http://oversync.fixture.test/';
  const serverFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\//, '');
    const text = await request.text();
    let body: unknown = null;
    if (text !== '') body = JSON.parse(text);
    const parsed: ParsedRequest = {
      method: request.method,
      path,
      query: url.searchParams,
      sourceId: request.headers.get('Oversync-Source-ID') ?? '',
      body,
    };
    record.requests.push(`${request.method} ${path}${url.search}`);
    for (const r of routes) {
      if (r.method !== request.method) continue;
      const m = path.match(r.pattern);
      if (m) return r.handler(parsed, m);
    }
    return errorResponse(404, 'not_found', `no scripted route for ${request.method} /${path}`);
  };
  return { baseUrl, fetch: serverFetch as typeof fetch, record };
}
