/**
 * A scripted G2 sync server, exposed as a `fetch` function, for the oversqlite behaviour
 * fixtures (push recovery/apply, pull/snapshot apply, invalidation, automatic downloads).
 *
 * The client is driven through its real HTTP layer (`createHttpRemoteApi` request building,
 * bounded reads, response validation), so every answer here must be a protocol-valid G2 body:
 * committed bundles carry the `bundle_hash` of their rows (protocol `bundleHash`), generated
 * snapshot chunks the `byte_count` of their rows (protocol `snapshotRowByteCount`), errors the
 * protocol error body `{error, message}`. Fixture-provided bodies are sent as the fixture wrote
 * them (the fixtures win), with the source id echoed from the `Oversync-Source-ID` header.
 *
 * The server keeps per-operation request counters, the requests themselves, the last upload
 * session's rows, the committed bundles, a pull-visible bundle history (remote bundles and our
 * own commits), and watch streams whose bodies are `ReadableStream`s the test controls.
 *
 * Every `serverScript.kind` of the behaviour fixtures maps to a configuration in
 * {@link applyServerScript}; an unknown kind throws.
 *
 * @module
 */

import {
  bundleHash,
  canonicalJson,
  type SnapshotRow,
  SOURCE_ID_HEADER,
  sha256Hex,
  snapshotRowByteCount,
} from '@oversync/protocol';
import {
  type ConflictResolver,
  clientWins,
  createOversyncClient,
  type OversyncClient,
  type OversyncClientOptions,
  type SqliteDriver,
  type SyncTableConfig,
  serverWins,
} from '../../src/index.js';

/** Base URL the fixture clients use; its path prefix must be preserved by request building. */
export const FIXTURE_BASE_URL = 'https://fixture.test/api/v1';
const BASE_PATH = '/api/v1/';

/** Operations the server distinguishes (and counts). */
export type FixtureOperation =
  | 'capabilities'
  | 'connect'
  | 'createPushSession'
  | 'uploadPushChunk'
  | 'commitPushSession'
  | 'deletePushSession'
  | 'committedBundleRows'
  | 'pull'
  | 'createSnapshotSession'
  | 'snapshotChunk'
  | 'deleteSnapshotSession'
  | 'watch'
  | 'unrouted';

/** One request as received. */
export interface RecordedRequest {
  readonly operation: FixtureOperation;
  readonly method: string;
  /** Path relative to the base URL, e.g. `sync/pull`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly sourceId: string | null;
  readonly body: unknown;
}

/** A committed/pulled row as it travels (`row_version` filled in by the server when absent). */
export interface WireBundleRow {
  readonly schema: string;
  readonly table: string;
  readonly key: Record<string, string>;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly row_version?: number;
  readonly payload?: Record<string, unknown> | null;
}

interface StoredBundleRow extends WireBundleRow {
  readonly row_version: number;
}

interface CommittedBundle {
  readonly bundleSeq: number;
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly rows: readonly StoredBundleRow[];
  readonly bundleHash: string;
  /** `canonical_request_hash` echoed by the committed-rows pages. */
  readonly requestHash: string;
}

interface HistoryBundle {
  readonly bundle_seq: number;
  readonly source_id: string;
  readonly source_bundle_id: number;
  readonly rows: readonly StoredBundleRow[];
}

/** Push-side behaviour (the SQLiteNow `PushFixtureServer` switches). */
export interface PushScript {
  /** The first commit fails with `500`, before anything is committed. */
  failFirstCommit?: boolean;
  /** The first committed-rows fetch fails with `500`. */
  failFirstCommittedFetch?: boolean;
  /** The first committed-rows fetch answers `409 history_pruned`. */
  pruneFirstCommittedFetch?: boolean;
  /** Commit and committed rows advertise a `bundle_hash` the rows do not hash to. */
  badCommittedBundleHash?: boolean;
  /** The first N committed-rows fetches answer `404 committed_bundle_not_found`. */
  committedBundleNotFoundCount?: number;
  /** Push-session create answers `already_committed` with these committed rows. */
  alreadyCommitted?: {
    readonly bundleSeq: number;
    readonly rows: readonly WireBundleRow[];
    /** `canonical_request_hash` of the create answer (default: the request's). */
    readonly createRequestHash?: string;
  };
  /** The first commit (of an upload with `conflictOnceOnRowCount` rows, when set) is a push conflict. */
  conflictOnce?: unknown;
  conflictOnceOnRowCount?: number;
  /** Commit answer overrides. */
  commitResponse?: {
    readonly bundle_seq?: number;
    readonly source_bundle_id?: number;
    readonly row_count?: number;
  };
  /** The committed rows of the next commit (instead of the uploaded rows) and the hash their pages echo. */
  committedRows?: { readonly rows: readonly WireBundleRow[]; readonly requestHash?: string };
}

/** One scripted `GET /sync/watch` answer; when the queue is empty the stream is held open. */
export type WatchResponseScript =
  | { readonly kind: 'status'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'lines'; readonly lines: readonly string[] };

/** A JSON error answer. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: {
    readonly error: string;
    readonly message: string;
    readonly [k: string]: unknown;
  };
}

const encoder = new TextEncoder();

/**
 * A response body the test controls: chunks delivered one per read, then EOF — or, when held
 * open, parked until {@link ScriptedBody.push} adds more. Counts itself closed once the client
 * cancels it or reads past its end.
 */
export class ScriptedBody {
  readonly stream: ReadableStream<Uint8Array>;
  #closed = false;
  #parked = false;
  #wake: (() => void) | undefined;
  readonly #queue: string[];

  constructor(
    chunks: readonly string[],
    readonly holdOpen: boolean,
    private readonly onClose: () => void,
  ) {
    this.#queue = [...chunks];
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          const next = this.#queue.shift();
          if (next !== undefined) {
            controller.enqueue(encoder.encode(next));
            return undefined;
          }
          if (!this.holdOpen) {
            controller.close();
            this.#markClosed();
            return undefined;
          }
          this.#parked = true;
          return new Promise<void>((resolve) => {
            this.#wake = () => {
              this.#parked = false;
              this.#wake = undefined;
              const text = this.#queue.shift();
              if (!this.#closed && text !== undefined) controller.enqueue(encoder.encode(text));
              resolve();
            };
          });
        },
        cancel: () => {
          this.#markClosed();
          this.#wake?.();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** True once the client cancelled the body or read past its end. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True while the client waits on a read that only {@link push} can satisfy. */
  get parked(): boolean {
    return this.#parked && !this.#closed;
  }

  /** Appends text to a held-open body (wakes a parked read). */
  push(text: string): void {
    if (this.#closed) return;
    this.#queue.push(text);
    this.#wake?.();
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose();
  }
}

/** Options of {@link FixtureServer}. */
export interface FixtureServerOptions {
  /** Managed tables (advertised as `registered_table_specs` of schema `main`). */
  readonly tables: readonly SyncTableConfig[];
  /** `features.bundle_change_watch` (default false). */
  readonly bundleChangeWatch?: boolean;
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** The protocol error body `{error, message}` with a status. */
export function errorResponse(
  status: number,
  error: string,
  message: string,
  extra: Record<string, unknown> = {},
): Response {
  return json({ error, message, ...extra }, status);
}

const pushIdFor = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function committedRowsPage(
  bundle: CommittedBundle,
  sourceId: string,
  after: number,
  maxRows: number,
) {
  const start = after + 1;
  const rows = bundle.rows.slice(start, start + maxRows);
  const next = rows.length === 0 ? Math.max(after, 0) : after + rows.length;
  return {
    bundle_seq: bundle.bundleSeq,
    source_id: sourceId,
    source_bundle_id: bundle.sourceBundleId,
    row_count: bundle.rows.length,
    bundle_hash: bundle.bundleHash,
    canonical_request_hash: bundle.requestHash,
    rows,
    next_row_ordinal: next,
    has_more: start + rows.length < bundle.rows.length,
  };
}

/** `bundle_hash` of rows in stream order. */
export function bundleHashOf(rows: readonly StoredBundleRow[]): Promise<string> {
  return bundleHash(
    rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      key: r.key,
      op: r.op,
      rowVersion: r.row_version,
      payload: r.payload ?? null,
    })),
  );
}

/** Sum of protocol `snapshotRowByteCount` over rows. */
export function snapshotByteCount(rows: readonly SnapshotRow[]): number {
  return rows.reduce((n, r) => n + snapshotRowByteCount(r), 0);
}

/** The scripted G2 server. Pass {@link FixtureServer.fetch} as the client's `fetch`. */
export class FixtureServer {
  readonly tables: readonly SyncTableConfig[];
  bundleChangeWatch: boolean;
  readonly requests: RecordedRequest[] = [];
  readonly #counts = new Map<FixtureOperation, number>();

  // --- push
  /** False for scripts that define no push behaviour: push routes answer `404 not_found`. */
  acceptsPushes = true;
  push: PushScript = {};
  /** Bodies of every `POST /sync/push-sessions`. */
  readonly createRequests: Record<string, unknown>[] = [];
  /** Rows of the current (last staging) upload session. */
  uploadedRows: Record<string, unknown>[] = [];
  readonly committed = new Map<number, CommittedBundle>();
  #pushSeq = 0;
  #active: { pushId: string; sourceBundleId: number; requestHash: string } | undefined;
  #commitAttempts = 0;
  #committedFetchAttempts = 0;
  #conflictDelivered = false;

  // --- pull history (remote bundles and our own commits)
  readonly history: HistoryBundle[] = [];
  /** The next bundle_seq the server assigns. */
  nextBundleSeq = 1;
  /** A scripted pull sequence (answers in order; exhausted → 500). */
  pullResponses: unknown[] | undefined;
  #pullIndex = 0;
  /** Every pull answers this error. */
  pullError: ErrorAnswer | undefined;

  // --- snapshots
  /** Scripted sessions (answered in order) and chunks by snapshot id and `after_row_ordinal`. */
  snapshotSessions: unknown[] | undefined;
  snapshotChunks: Record<string, Record<string, unknown>> | undefined;
  #sessionIndex = 0;
  /** Generated snapshot (when no sessions are scripted): these rows at this bundle seq. */
  snapshotRows: SnapshotRow[] = [];
  snapshotBundleSeq = 0;
  #generatedSnapshots = 0;

  // --- watch
  readonly watchResponses: WatchResponseScript[] = [];
  readonly watchAfterBundleSeqs: number[] = [];
  readonly watchBodies: ScriptedBody[] = [];
  watchCloseCount = 0;

  constructor(options: FixtureServerOptions) {
    this.tables = options.tables;
    this.bundleChangeWatch = options.bundleChangeWatch ?? false;
  }

  /** Requests received for `operation`. */
  count(operation: FixtureOperation): number {
    return this.#counts.get(operation) ?? 0;
  }

  /** `GET /sync/pull` requests so far. */
  get pullRequestCount(): number {
    return this.count('pull');
  }

  /** The highest bundle_seq in the pull-visible history (0 when empty). */
  get stableBundleSeq(): number {
    return this.history.reduce((m, b) => Math.max(m, b.bundle_seq), 0);
  }

  /** True while some held-open watch stream has a read parked on it. */
  get watchParked(): boolean {
    return this.watchBodies.some((b) => b.parked);
  }

  /**
   * Commits a bundle by another writer (`remote-source`): it becomes pull-visible and every
   * held-open watch stream gets an `event: bundle` for it. Rows without `row_version` get the
   * bundle's seq.
   */
  addRemoteBundle(rows: readonly WireBundleRow[]): number {
    const bundleSeq = this.nextBundleSeq++;
    this.history.push({
      bundle_seq: bundleSeq,
      source_id: 'remote-source',
      source_bundle_id: bundleSeq,
      rows: rows.map((r) => ({ ...r, row_version: r.row_version ?? bundleSeq })),
    });
    const data = JSON.stringify({
      bundle_seq: bundleSeq,
      source_id: 'remote-source',
      source_bundle_id: bundleSeq,
    });
    for (const body of this.watchBodies) {
      if (body.holdOpen) body.push(`event: bundle\ndata: ${data}\n\n`);
    }
    return bundleSeq;
  }

  /** The `fetch` to hand to the client. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.signal.aborted)
      throw request.signal.reason ?? new DOMException('aborted', 'AbortError');
    const url = new URL(request.url);
    if (!url.pathname.startsWith(BASE_PATH)) {
      return this.#record('unrouted', request, url, undefined, () =>
        errorResponse(404, 'not_found', url.pathname),
      );
    }
    const path = url.pathname.slice(BASE_PATH.length);
    const text =
      request.method === 'GET' || request.method === 'DELETE' ? '' : await request.text();
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    const sourceId = request.headers.get(SOURCE_ID_HEADER) ?? '';
    const q = (name: string): number | undefined => {
      const v = url.searchParams.get(name);
      return v === null ? undefined : Number(v);
    };
    const m = request.method;

    if (m === 'GET' && path === 'sync/capabilities') {
      return this.#record('capabilities', request, url, body, () => json(this.capabilities()));
    }
    if (m === 'POST' && path === 'sync/connect') {
      return this.#record('connect', request, url, body, () =>
        json({ resolution: 'initialize_empty' }),
      );
    }
    if (!this.acceptsPushes && path.startsWith('sync/push-sessions')) {
      return this.#record('unrouted', request, url, body, () =>
        errorResponse(404, 'not_found', `${m} ${path}`),
      );
    }
    if (m === 'POST' && path === 'sync/push-sessions') {
      return this.#record('createPushSession', request, url, body, () =>
        this.#createPush(sourceId, body),
      );
    }
    let match = /^sync\/push-sessions\/([^/]+)\/chunks$/.exec(path);
    if (m === 'POST' && match) {
      const id = decodeURIComponent(match[1] as string);
      return this.#record('uploadPushChunk', request, url, body, () => this.#uploadChunk(id, body));
    }
    match = /^sync\/push-sessions\/([^/]+)\/commit$/.exec(path);
    if (m === 'POST' && match) {
      const id = decodeURIComponent(match[1] as string);
      return this.#record('commitPushSession', request, url, body, () =>
        this.#commit(id, sourceId),
      );
    }
    if (m === 'DELETE' && /^sync\/push-sessions\/[^/]+$/.test(path)) {
      return this.#record(
        'deletePushSession',
        request,
        url,
        body,
        () => new Response(null, { status: 204 }),
      );
    }
    match = /^sync\/committed-bundles\/([0-9]+)\/rows$/.exec(path);
    if (m === 'GET' && match) {
      const seq = Number(match[1]);
      return this.#record('committedBundleRows', request, url, body, () =>
        this.#committedRows(seq, sourceId, q('after_row_ordinal') ?? -1, q('max_rows') ?? 1000),
      );
    }
    if (m === 'GET' && path === 'sync/pull') {
      return this.#record('pull', request, url, body, () =>
        this.#pull(q('after_bundle_seq') ?? 0, q('max_bundles') ?? 1000, q('target_bundle_seq')),
      );
    }
    if (m === 'POST' && path === 'sync/snapshot-sessions') {
      return this.#record('createSnapshotSession', request, url, body, () =>
        this.#createSnapshot(),
      );
    }
    match = /^sync\/snapshot-sessions\/([^/]+)$/.exec(path);
    if (m === 'GET' && match) {
      const id = decodeURIComponent(match[1] as string);
      return this.#record('snapshotChunk', request, url, body, () =>
        this.#snapshotChunk(
          id,
          url.searchParams.get('after_row_ordinal') ?? '0',
          q('max_rows') ?? 1000,
          q('max_bytes') ?? 4_194_304,
        ),
      );
    }
    if (m === 'DELETE' && match) {
      return this.#record(
        'deleteSnapshotSession',
        request,
        url,
        body,
        () => new Response(null, { status: 204 }),
      );
    }
    if (m === 'GET' && path === 'sync/watch') {
      return this.#record('watch', request, url, body, () =>
        this.#watch(q('after_bundle_seq') ?? 0),
      );
    }
    return this.#record('unrouted', request, url, body, () =>
      errorResponse(404, 'not_found', `${m} ${path}`),
    );
  };

  /** The capabilities body: v1, the managed tables, full snapshot limits. */
  capabilities(): Record<string, unknown> {
    return {
      protocol_version: 'v1',
      schema_version: 1,
      registered_table_specs: this.tables.map((t) => ({
        schema: 'main',
        table: t.tableName,
        sync_key_columns: [t.syncKeyColumnName],
      })),
      features: { connect_lifecycle: true, bundle_change_watch: this.bundleChangeWatch },
      bundle_limits: {
        default_rows_per_snapshot_chunk: 1000,
        max_rows_per_snapshot_chunk: 4000,
        default_bytes_per_snapshot_chunk: 4_194_304,
        max_bytes_per_snapshot_chunk: 16_777_216,
        max_bytes_per_snapshot_row: 4_194_304,
        max_concurrent_snapshot_builds: 2,
        max_concurrent_snapshot_chunk_requests: 8,
      },
    };
  }

  async #record(
    operation: FixtureOperation,
    request: Request,
    url: URL,
    body: unknown,
    respond: () => Response | Promise<Response>,
  ): Promise<Response> {
    this.#counts.set(operation, this.count(operation) + 1);
    this.requests.push({
      operation,
      method: request.method,
      path: url.pathname.startsWith(BASE_PATH)
        ? url.pathname.slice(BASE_PATH.length)
        : url.pathname,
      query: Object.fromEntries(url.searchParams),
      sourceId: request.headers.get(SOURCE_ID_HEADER),
      body,
    });
    return respond();
  }

  // --- push

  async #createPush(sourceId: string, body: unknown): Promise<Response> {
    const req = body as {
      source_bundle_id: number;
      planned_row_count: number;
      canonical_request_hash: string;
    };
    this.createRequests.push(body as Record<string, unknown>);
    const pushId = pushIdFor(++this.#pushSeq);
    this.#active = {
      pushId,
      sourceBundleId: req.source_bundle_id,
      requestHash: req.canonical_request_hash,
    };
    const already = this.push.alreadyCommitted;
    if (already) {
      const rows = already.rows.map((r) => ({
        ...r,
        row_version: r.row_version ?? already.bundleSeq,
      }));
      const hash = await bundleHashOf(rows);
      this.committed.set(already.bundleSeq, {
        bundleSeq: already.bundleSeq,
        sourceId,
        sourceBundleId: req.source_bundle_id,
        rows,
        bundleHash: hash,
        requestHash: req.canonical_request_hash,
      });
      return json({
        status: 'already_committed',
        bundle_seq: already.bundleSeq,
        source_id: sourceId,
        source_bundle_id: req.source_bundle_id,
        row_count: rows.length,
        bundle_hash: hash,
        canonical_request_hash: already.createRequestHash ?? req.canonical_request_hash,
      });
    }
    this.uploadedRows = [];
    return json({
      status: 'staging',
      push_id: pushId,
      planned_row_count: req.planned_row_count,
      next_expected_row_ordinal: 0,
      canonical_request_hash: req.canonical_request_hash,
    });
  }

  #uploadChunk(pushId: string, body: unknown): Response {
    if (this.#active?.pushId !== pushId) {
      return errorResponse(404, 'push_session_not_found', `unknown push session ${pushId}`);
    }
    const chunk = body as { start_row_ordinal: number; rows: Record<string, unknown>[] };
    if (chunk.start_row_ordinal !== this.uploadedRows.length) {
      return errorResponse(409, 'push_chunk_out_of_order', `expected ${this.uploadedRows.length}`);
    }
    this.uploadedRows.push(...chunk.rows);
    return json({ push_id: pushId, next_expected_row_ordinal: this.uploadedRows.length });
  }

  async #commit(pushId: string, sourceId: string): Promise<Response> {
    const active = this.#active;
    if (active?.pushId !== pushId) {
      return errorResponse(404, 'push_session_not_found', `unknown push session ${pushId}`);
    }
    this.#commitAttempts++;
    const script = this.push;
    if (
      script.conflictOnce !== undefined &&
      !this.#conflictDelivered &&
      (script.conflictOnceOnRowCount === undefined ||
        script.conflictOnceOnRowCount === this.uploadedRows.length)
    ) {
      this.#conflictDelivered = true;
      return errorResponse(409, 'push_conflict', 'fixture conflict', {
        conflict: script.conflictOnce,
      });
    }
    if (script.failFirstCommit && this.#commitAttempts === 1) {
      return errorResponse(
        500,
        'push_session_commit_failed',
        'fixture: commit failed before committing',
      );
    }
    const bundleSeq = script.commitResponse?.bundle_seq ?? this.nextBundleSeq;
    this.nextBundleSeq = Math.max(this.nextBundleSeq, bundleSeq + 1);
    const source: readonly WireBundleRow[] =
      script.committedRows?.rows ??
      this.uploadedRows.map((r) => ({
        schema: String(r.schema),
        table: String(r.table),
        key: r.key as Record<string, string>,
        op: r.op as WireBundleRow['op'],
        payload: r.op === 'DELETE' ? null : ((r.payload ?? null) as Record<string, unknown> | null),
      }));
    const rows = source.map((r) => ({ ...r, row_version: r.row_version ?? bundleSeq }));
    const hash = script.badCommittedBundleHash
      ? await sha256Hex(`not the rows of bundle ${bundleSeq}`)
      : await bundleHashOf(rows);
    const sourceBundleId = script.commitResponse?.source_bundle_id ?? active.sourceBundleId;
    this.committed.set(bundleSeq, {
      bundleSeq,
      sourceId,
      sourceBundleId,
      rows,
      bundleHash: hash,
      requestHash: script.committedRows?.requestHash ?? active.requestHash,
    });
    this.history.push({
      bundle_seq: bundleSeq,
      source_id: sourceId,
      source_bundle_id: sourceBundleId,
      rows,
    });
    return json({
      bundle_seq: bundleSeq,
      source_id: sourceId,
      source_bundle_id: sourceBundleId,
      row_count: script.commitResponse?.row_count ?? rows.length,
      bundle_hash: hash,
      canonical_request_hash: active.requestHash,
    });
  }

  #committedRows(bundleSeq: number, sourceId: string, after: number, maxRows: number): Response {
    this.#committedFetchAttempts++;
    const script = this.push;
    if (script.failFirstCommittedFetch && this.#committedFetchAttempts === 1) {
      return errorResponse(
        500,
        'committed_bundle_rows_failed',
        'fixture: committed rows fetch failed',
      );
    }
    if (this.#committedFetchAttempts <= (script.committedBundleNotFoundCount ?? 0)) {
      return errorResponse(404, 'committed_bundle_not_found', 'committed bundle not visible yet');
    }
    if (script.pruneFirstCommittedFetch && this.#committedFetchAttempts === 1) {
      return errorResponse(409, 'history_pruned', 'committed bundle replay pruned');
    }
    const bundle = this.committed.get(bundleSeq);
    if (!bundle)
      return errorResponse(404, 'committed_bundle_not_found', `no committed bundle ${bundleSeq}`);
    return json(committedRowsPage(bundle, sourceId, after, maxRows));
  }

  // --- pull

  #pull(after: number, maxBundles: number, target: number | undefined): Response {
    if (this.pullError) return json(this.pullError.body, this.pullError.status);
    if (this.pullResponses) {
      const next = this.pullResponses[this.#pullIndex];
      if (next === undefined)
        return errorResponse(500, 'internal_error', 'fixture: pull responses exhausted');
      this.#pullIndex++;
      return json(next);
    }
    const stable = target ?? this.stableBundleSeq;
    const eligible = this.history
      .filter((b) => b.bundle_seq > after && b.bundle_seq <= stable)
      .sort((a, b) => a.bundle_seq - b.bundle_seq);
    const page = eligible.slice(0, maxBundles);
    return json({
      stable_bundle_seq: stable,
      bundles: page,
      has_more: page.length < eligible.length,
    });
  }

  // --- snapshots

  #createSnapshot(): Response {
    if (this.snapshotSessions) {
      const next = this.snapshotSessions[this.#sessionIndex];
      if (next === undefined)
        return errorResponse(500, 'internal_error', 'fixture: snapshot sessions exhausted');
      this.#sessionIndex++;
      return json(next);
    }
    const id = `snapshot-${++this.#generatedSnapshots}`;
    return json({
      snapshot_id: id,
      snapshot_bundle_seq: this.snapshotBundleSeq,
      row_count: this.snapshotRows.length,
      byte_count: snapshotByteCount(this.snapshotRows),
      expires_at: '2099-01-01T00:00:00Z',
    });
  }

  #snapshotChunk(snapshotId: string, after: string, maxRows: number, maxBytes: number): Response {
    if (this.snapshotChunks) {
      const entry = this.snapshotChunks[snapshotId]?.[after] as
        | { status?: number; body?: unknown }
        | undefined;
      if (entry === undefined) {
        return errorResponse(404, 'snapshot_session_not_found', `no chunk ${snapshotId}@${after}`);
      }
      if (entry.status !== undefined) return json(entry.body, entry.status);
      return json(entry);
    }
    const start = Number(after);
    const rows: SnapshotRow[] = [];
    let bytes = 0;
    for (const row of this.snapshotRows.slice(start)) {
      const size = snapshotRowByteCount(row);
      if (rows.length >= maxRows || (rows.length > 0 && bytes + size > maxBytes)) break;
      rows.push(row);
      bytes += size;
    }
    return json({
      snapshot_id: snapshotId,
      snapshot_bundle_seq: this.snapshotBundleSeq,
      rows,
      next_row_ordinal: start + rows.length,
      has_more: start + rows.length < this.snapshotRows.length,
      byte_count: bytes,
    });
  }

  // --- watch

  #watch(after: number): Response {
    this.watchAfterBundleSeqs.push(after);
    const script = this.watchResponses.shift();
    const onClose = (): void => {
      this.watchCloseCount++;
    };
    if (script?.kind === 'status') {
      const body = new ScriptedBody([JSON.stringify(script.body)], false, onClose);
      this.watchBodies.push(body);
      return new Response(body.stream, {
        status: script.status,
        headers: { 'content-type': 'application/json' },
      });
    }
    const body =
      script?.kind === 'lines'
        ? new ScriptedBody(
            script.lines.map((l) => `${l}\n`),
            false,
            onClose,
          )
        : new ScriptedBody([], true, onClose);
    this.watchBodies.push(body);
    return new Response(body.stream, {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// fixture scripts

/** A fixture `serverScript` object (free-form JSON). */
export type ServerScript = { readonly kind: string } & Record<string, unknown>;

const asRows = (value: unknown): WireBundleRow[] =>
  Array.isArray(value) ? (value as WireBundleRow[]) : [];

function bundlesRows(value: unknown): WireBundleRow[][] {
  return Array.isArray(value) ? (value as { rows: unknown }[]).map((b) => asRows(b.rows)) : [];
}

/**
 * Checks that a scripted snapshot's `byte_count`s are the protocol's (so the fixture bytes the
 * client sees are what a conforming server would send).
 */
function checkScriptedSnapshotBytes(chunks: Record<string, Record<string, unknown>>): void {
  for (const [id, byAfter] of Object.entries(chunks)) {
    for (const [after, entry] of Object.entries(byAfter)) {
      const chunk = entry as { rows?: SnapshotRow[]; byte_count?: number };
      if (!Array.isArray(chunk.rows)) continue;
      const computed = snapshotByteCount(chunk.rows);
      if (chunk.byte_count !== computed) {
        throw new Error(
          `fixture chunk ${id}@${after} byte_count ${chunk.byte_count} != protocol ${computed}`,
        );
      }
    }
  }
}

/**
 * Configures `server` for a fixture `serverScript`. Covers every kind of push/behavior,
 * pull-snapshot/behavior and watch/behavior; throws on an unknown kind.
 */
export async function applyServerScript(
  server: FixtureServer,
  script: ServerScript,
): Promise<void> {
  const s = script as Record<string, unknown>;
  switch (script.kind) {
    // push/behavior
    case 'echo_committed_rows':
      return;
    case 'committed_bundle_seq_gap':
      server.nextBundleSeq = Number(s.bundleSeq);
      return;
    case 'committed_replay_first_fetch_http_error':
      server.push = { failFirstCommittedFetch: true };
      return;
    case 'committed_replay_bad_bundle_hash':
      server.push = { badCommittedBundleHash: true };
      return;
    case 'committed_bundle_not_found_then_success':
      server.push = { committedBundleNotFoundCount: Number(s.notFoundCount ?? 1) };
      return;
    case 'committed_replay_pruned':
      server.push = { pruneFirstCommittedFetch: true };
      return;
    case 'precommit_retry':
      server.push = { failFirstCommit: true };
      return;
    case 'conflict_once':
      server.push = { conflictOnce: s.conflict };
      return;
    case 'conflict_once_on_row_count':
      server.push = { conflictOnce: s.conflict, conflictOnceOnRowCount: Number(s.rowCount) };
      return;
    case 'already_committed_rows':
      server.push = { alreadyCommitted: { bundleSeq: 1, rows: asRows(s.committedRows) } };
      return;
    case 'already_committed_request_hash_mismatch': {
      const payload = s.committedPayload as Record<string, unknown>;
      const id = String(payload.id);
      server.push = {
        alreadyCommitted: {
          bundleSeq: 1,
          rows: [
            { schema: 'main', table: 'users', key: { id }, op: 'INSERT', row_version: 1, payload },
          ],
          // A different upload was committed under our (source, source_bundle_id).
          createRequestHash: await sha256Hex(canonicalJson({ committed: payload })),
        },
      };
      return;
    }
    case 'committed_remote_request_hash_mismatch': {
      const commit = s.commitResponse as {
        bundle_seq: number;
        source_bundle_id: number;
        row_count: number;
      };
      const page = s.committedRowsResponse as { rows: unknown };
      server.push = {
        commitResponse: {
          bundle_seq: commit.bundle_seq,
          source_bundle_id: commit.source_bundle_id,
          row_count: commit.row_count,
        },
        committedRows: {
          rows: asRows(page.rows),
          // The committed copy belongs to another upload than the one we committed.
          requestHash: await sha256Hex(canonicalJson({ committedRows: page.rows })),
        },
      };
      return;
    }

    // pull-snapshot/behavior: these scripts define no push behaviour (as in the SQLiteNow
    // runners' server, push routes are unknown there)
    case 'pull_incremental_bundles':
      server.acceptsPushes = false;
      server.pullResponses = [s.response];
      return;
    case 'pull_sequence':
      server.acceptsPushes = false;
      server.pullResponses = [...(s.responses as unknown[])];
      return;
    case 'snapshot_sequence': {
      const chunks = s.chunks as Record<string, Record<string, unknown>>;
      checkScriptedSnapshotBytes(chunks);
      server.acceptsPushes = false;
      server.snapshotSessions = [...(s.sessions as unknown[])];
      server.snapshotChunks = chunks;
      return;
    }

    // watch/behavior
    case 'non_ok_watch_response': {
      const response = s.response as { status: number; body: unknown };
      server.bundleChangeWatch = true;
      for (const rows of bundlesRows(s.remoteBundles)) server.addRemoteBundle(rows);
      server.watchResponses.push({ kind: 'status', status: response.status, body: response.body });
      return;
    }
    case 'watch_lines':
      server.bundleChangeWatch = true;
      for (const rows of bundlesRows(s.remoteBundles)) server.addRemoteBundle(rows);
      for (const rows of bundlesRows(s.startBundles)) server.addRemoteBundle(rows);
      server.watchResponses.push({ kind: 'lines', lines: s.lines as string[] });
      return;
    case 'hold_watch_open':
      // `wakeBundles` are delivered by the runner once the stream is open.
      server.bundleChangeWatch = true;
      return;
    case 'unsupported_capability':
      server.bundleChangeWatch = s.bundleChangeWatchSupported === true;
      for (const rows of bundlesRows(s.startBundles)) server.addRemoteBundle(rows);
      return;
    default:
      throw new Error(`unknown serverScript kind "${script.kind}"`);
  }
}

/** Rows of a script's `wakeBundles` (or any `{rows}[]` list). */
export function scriptBundles(value: unknown): WireBundleRow[][] {
  return bundlesRows(value);
}

// ---------------------------------------------------------------------------------------------
// client wiring

/** Resolvers the fixtures name. */
export function fixtureResolver(name: string | undefined): ConflictResolver {
  switch (name ?? 'server_wins') {
    case 'server_wins':
      return serverWins;
    case 'client_wins':
      return clientWins;
    case 'keep_local':
      return () => ({ kind: 'keep_local' });
    case 'keep_merged_user':
      return () => ({ kind: 'keep_merged', mergedPayload: { id: 'user-1', name: 'Merged' } });
    default:
      throw new Error(`unknown fixture resolver "${name}"`);
  }
}

/** Records the waits the client asks for and resolves them at once (no real waiting). */
export function recordingSleep(): {
  readonly waits: number[];
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
} {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms, signal) => {
      waits.push(ms);
      if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
      return Promise.resolve();
    },
  };
}

/** A client on `driver` talking to `server` through its real HTTP layer. */
export function createFixtureClient(
  driver: SqliteDriver,
  server: FixtureServer,
  options: Partial<Omit<OversyncClientOptions, 'driver' | 'baseUrl' | 'fetch' | 'tables'>> = {},
): OversyncClient {
  let uuid = 0;
  return createOversyncClient({
    driver,
    baseUrl: FIXTURE_BASE_URL,
    fetch: server.fetch,
    tables: server.tables,
    random: () => 0.5,
    randomUUID: () => `00000000-0000-4000-a000-${String(++uuid).padStart(12, '0')}`,
    ...options,
  });
}
