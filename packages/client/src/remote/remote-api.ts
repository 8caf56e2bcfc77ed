/**
 * The client's view of the sync server: one method per HTTP operation, returning validated G2
 * response bodies. Implemented over `fetch` by `createHttpRemoteApi`; behaviour fixtures and
 * unit tests may substitute scripted implementations.
 *
 * Errors (all `OversyncClientError`):
 * - non-2xx → `http_error` with `status`, `serverError` (the body's `error` field when the body
 *   is the protocol's error body), `body` (parsed JSON or raw text), `method`, `path`,
 *   `retryAfterSeconds` (from `Retry-After` delta-seconds);
 * - a 2xx body that fails validation → `protocol_error`;
 * - transport failure → `network_error`; an aborted signal → `aborted`.
 *
 * @module
 */

import type {
  CapabilitiesResponse,
  CommittedBundleRowsResponse,
  ConnectResponse,
  PullResponse,
  PushChunkResponse,
  PushCommitResponse,
  PushRow,
  PushSessionCreateResponse,
  SnapshotChunkResponse,
  SnapshotSession,
  SourceReplacement,
  WatchEvent,
} from '@oversync/protocol';

/**
 * Per-request context: the writer identity sent as `Oversync-Source-ID`, and cancellation.
 *
 * @example
 * ```ts
 * const req: RequestContext = { sourceId: attachment.currentSourceId, signal };
 * const caps = await ctx.remote.capabilities(req);
 * ```
 */
export interface RequestContext {
  readonly sourceId: string;
  readonly signal?: AbortSignal;
}

/**
 * Body of `POST /sync/push-sessions`.
 *
 * @example
 * ```ts
 * const body: CreatePushSessionInput = { source_bundle_id: header.sourceBundleId,
 *   planned_row_count: header.rowCount, canonical_request_hash: header.canonicalRequestHash };
 * const res = await ctx.remote.createPushSession(req, body);
 * ```
 */
export interface CreatePushSessionInput {
  readonly source_bundle_id: number;
  readonly planned_row_count: number;
  readonly canonical_request_hash: string;
  /** Only while seeding an uninitialised scope (the connect lease id). */
  readonly initialization_id?: string;
}

/**
 * One event read from the watch stream.
 *
 * @example
 * ```ts
 * for await (const item of stream) if (item.type === 'bundle') await pull();
 * ```
 */
export type WatchStreamItem =
  | { readonly type: 'bundle'; readonly event: WatchEvent }
  | { readonly type: 'heartbeat' };

/**
 * An open `GET /sync/watch` stream.
 *
 * @example
 * ```ts
 * const stream = await ctx.remote.watch(req, checkpoint);
 * try { for await (const item of stream) handle(item); } finally { await stream.close(); }
 * ```
 */
export interface WatchStream extends AsyncIterable<WatchStreamItem> {
  /** Cancels the underlying response body. Idempotent. */
  close(): Promise<void>;
}

/**
 * The HTTP operations of the G2 protocol, as used by the client.
 *
 * @example
 * ```ts
 * const resp = await remote.pull({ sourceId }, { afterBundleSeq: 0, maxBundles: 1000 });
 * ```
 */
export interface RemoteApi {
  capabilities(ctx: RequestContext): Promise<CapabilitiesResponse>;
  connect(ctx: RequestContext, body: { has_local_pending_rows: boolean }): Promise<ConnectResponse>;
  createPushSession(
    ctx: RequestContext,
    body: CreatePushSessionInput,
  ): Promise<PushSessionCreateResponse>;
  uploadPushChunk(
    ctx: RequestContext,
    pushId: string,
    body: { start_row_ordinal: number; rows: readonly PushRow[] },
  ): Promise<PushChunkResponse>;
  commitPushSession(ctx: RequestContext, pushId: string): Promise<PushCommitResponse>;
  /** Best effort: resolves even when the server answers an error (the session expires anyway). */
  deletePushSession(ctx: RequestContext, pushId: string): Promise<void>;
  committedBundleRows(
    ctx: RequestContext,
    bundleSeq: number,
    query: { afterRowOrdinal?: number; maxRows: number },
  ): Promise<CommittedBundleRowsResponse>;
  pull(
    ctx: RequestContext,
    query: { afterBundleSeq: number; maxBundles: number; targetBundleSeq?: number },
  ): Promise<PullResponse>;
  createSnapshotSession(
    ctx: RequestContext,
    body?: { source_replacement: SourceReplacement },
  ): Promise<SnapshotSession>;
  snapshotChunk(
    ctx: RequestContext,
    snapshotId: string,
    query: { afterRowOrdinal: number; maxRows: number; maxBytes: number },
  ): Promise<SnapshotChunkResponse>;
  /** Best effort, like {@link RemoteApi.deletePushSession}. */
  deleteSnapshotSession(ctx: RequestContext, snapshotId: string): Promise<void>;
  /** Opens the SSE stream; rejects like any other call when the server answers non-2xx. */
  watch(ctx: RequestContext, afterBundleSeq: number): Promise<WatchStream>;
}
