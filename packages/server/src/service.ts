import { randomUUID as nodeRandomUUID } from 'node:crypto';
import {
  type BundleLimits,
  DEFAULT_BUNDLE_LIMITS,
  isSyncError,
  isValidSourceId,
  PROTOCOL_VERSION,
  parseLosslessJson,
  SOURCE_ID_HEADER,
  SyncError,
} from '@oversync/protocol';
import { bootstrapDatabase } from './bootstrap/bootstrap.js';
import type { Catalog } from './bootstrap/catalog.js';
import type { RegisteredTable } from './bootstrap/table-info.js';
import type { Actor, ServiceContext } from './context.js';
import { isRetryableTxError, type Queryable, type SyncDatabase } from './db/sync-database.js';
import { readBodyText, readJsonBody } from './http/body.js';
import { maybeCompress } from './http/compression.js';
import { type CorsOptions, corsHeaders } from './http/cors.js';
import { g1Capabilities, g1ConnectBody, g1ErrorBody, g1Json } from './http/g1-encoding.js';
import { errorResponse, jsonText } from './http/responses.js';
import { matchRoute, type RouteName } from './http/routes.js';
import { isTransientDatabaseError } from './http/transient-errors.js';
import { connect } from './lifecycle/connect.js';
import { pull } from './pull/pull.js';
import { commitPushSession } from './push/commit-session.js';
import { committedBundleRows } from './push/committed-rows.js';
import { createPushSession } from './push/create-session.js';
import { deletePushSession } from './push/delete-session.js';
import { g1ChunkToStored } from './push/g1-ingress.js';
import { uploadChunk } from './push/upload-chunk.js';
import type { Dialect } from './render/dialect.js';
import { G1HashCache } from './render/g1-rows.js';
import { pruneOnce, setRetainedFloor } from './retention/retention.js';
import { type ServerBundle, withinSyncBundle } from './server-writes/within-bundle.js';
import { Admission } from './snapshot/admission.js';
import { createSnapshot } from './snapshot/create-snapshot.js';
import { deleteSnapshot, snapshotChunk } from './snapshot/snapshot-chunk.js';
import { createStatusReporter, type Lifecycle } from './status/status.js';
import { type Logger, noopLogger } from './util/logger.js';
import { WatchHub } from './watch/watch-hub.js';
import { openWatch } from './watch/watch-stream.js';

/**
 * How long a G1 snapshot request waits for a slot before 429: go-oversync has no admission
 * limit, and its Go client retries 429 only three times within about a second.
 */
const G1_ADMISSION_WAIT_MS = 30_000;

/** The authenticated identity of a request. */
export interface Principal {
  userId: string;
}

/** Resolves the caller of a request; `null` (or a throw) means unauthenticated. */
export type Authenticate = (request: Request) => Promise<Principal | null> | Principal | null;

/** Options of {@link createSyncService}. */
export interface SyncServiceOptions {
  /** The database (`createPgDatabase` or `createPgliteDatabase`). */
  db: SyncDatabase;
  /** The business tables to sync. */
  tables: readonly RegisteredTable[];
  /** Authenticates every `/sync/*` request (see `jwtAuth`). */
  authenticate: Authenticate;
  /** Reported in status. @default 'oversync' */
  appName?: string;
  /** `schema_version` in capabilities. @default 1 */
  schemaVersion?: number;
  /** Prefix the handler is mounted under (e.g. `/api`). @default '' */
  basePath?: string;
  /**
   * Wire generation of {@link SyncService.fetch}: `g2` (SQLiteNow Kotlin/Dart clients) or `g1`
   * (go-oversync's Go client). More mounts over the same database: {@link SyncService.handler}.
   * @default 'g2'
   */
  dialect?: Dialect;
  /** @default no-op */
  logger?: Logger;
  /** @default { origins: '*' } */
  cors?: CorsOptions;
  /** Largest accepted request body. @default 134217728 (128 MiB) */
  maxBodyBytes?: number;
  /** Bundle-change watch. @default { enabled: true, heartbeatMs: 25000 } */
  watch?: {
    enabled?: boolean;
    heartbeatMs?: number;
    allowed?: (actor: Actor) => boolean | Promise<boolean>;
  };
  /** Overrides of the advertised and enforced limits. */
  limits?: Partial<BundleLimits>;
  /** Retained history per user and how often the pruning job runs (0 disables the job). @default { retainedBundlesPerUser: 10000, pruneIntervalMs: 60000 } */
  retention?: { retainedBundlesPerUser?: number; pruneIntervalMs?: number };
  /** Clock. @default () => new Date() */
  now?: () => Date;
  /** UUID source. @default crypto.randomUUID */
  randomUUID?: () => string;
}

/** Server-originated writes. */
export interface ScopeManager {
  /**
   * Runs `fn` as one bundle of `scopeId` written by `writerId` (its own source sequence).
   * An uninitialized scope becomes initialized. Throws `NoCapturedChangesError` (and rolls
   * back) when no registered table changed.
   *
   * @example
   * ```ts
   * await service.scopeManager.execWrite('user-1', { writerId: 'billing-job' }, (tx) =>
   *   tx.query(`UPDATE business.users SET name = $1 WHERE id = $2`, ['Ada', id]),
   * );
   * ```
   */
  execWrite<T>(
    scopeId: string,
    options: { writerId: string },
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<{ result: T; bundle: ServerBundle; autoInitialized: boolean }>;
}

/** A mounted sync service. */
export interface SyncService {
  /** Validates tables, creates/upgrades the `sync` schema, installs triggers, adopts rows. */
  bootstrap(): Promise<void>;
  /** The Web-standard request handler (dialect and base path from the options). */
  fetch(request: Request): Promise<Response>;
  /**
   * Another mount over the same database and state, speaking `dialect` under `basePath`:
   * one server can serve Go clients (G1) and SQLiteNow clients (G2) at once.
   *
   * @example
   * ```ts
   * const g1 = service.handler({ dialect: 'g1', basePath: '/g1' });
   * const g2 = service.handler({ dialect: 'g2', basePath: '/g2' });
   * const fetch = (req: Request) => (new URL(req.url).pathname.startsWith('/g1/') ? g1 : g2)(req);
   * ```
   */
  handler(options: {
    dialect: Dialect;
    basePath?: string;
  }): (request: Request) => Promise<Response>;
  /** Server-originated writes. */
  readonly scopeManager: ScopeManager;
  /**
   * Runs `fn` as one bundle under an explicit source tuple (which must be the source's next
   * `source_bundle_id`). Commits even when nothing was captured (then `bundle` is null).
   */
  withinSyncBundle<T>(
    target: { userId: string; sourceId: string; sourceBundleId: bigint | number | string },
    fn: (tx: Queryable) => Promise<T>,
  ): Promise<{ result: T; bundle: ServerBundle | null }>;
  /** Moves a user's retained floor (and deletes older bundles). */
  setRetainedFloor(
    userId: string,
    floor: bigint | number | string,
  ): Promise<{ found: boolean; floor: string }>;
  /** Runs one pass of the retention job now. */
  pruneHistory(): Promise<{ users: number }>;
  /** Open watch streams of a user in this process. */
  watchSubscriberCount(userId: string): number;
  /** Stops accepting requests, waits for in-flight ones, ends watch streams. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Creates the sync service: a Web-standard `(Request) => Promise<Response>` handler over
 * PostgreSQL or PGlite, speaking the oversync protocol (G2).
 *
 * @example
 * ```ts
 * const service = createSyncService({
 *   db: createPgDatabase({ connectionString: process.env.DATABASE_URL }),
 *   tables: [{ schema: 'business', table: 'users', syncKeyColumn: 'id' }],
 *   authenticate: jwtAuth({ secret: process.env.JWT_SECRET }),
 * });
 * await service.bootstrap();
 * http.createServer(toNodeListener((req) => service.fetch(req))).listen(8080);
 * ```
 */
export function createSyncService(options: SyncServiceOptions): SyncService {
  const logger = options.logger ?? noopLogger;
  const limits: BundleLimits = { ...DEFAULT_BUNDLE_LIMITS, ...options.limits };
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 128 * 1024 * 1024;
  const cors: CorsOptions = options.cors ?? { origins: '*' };
  const watchEnabled = options.watch?.enabled ?? true;
  const heartbeatMs = options.watch?.heartbeatMs ?? 25_000;
  const now = options.now ?? (() => new Date());
  const randomUUID = options.randomUUID ?? (() => nodeRandomUUID());
  const hub = new WatchHub(options.db, logger, watchEnabled);
  let catalog: Catalog | undefined;
  let lifecycle: Lifecycle = 'running';
  let inflight = 0;
  const drained: (() => void)[] = [];
  let pruneTimer: ReturnType<typeof setInterval> | undefined;
  const buildAdmission = new Admission(
    limits.max_concurrent_snapshot_builds,
    'snapshot_build_capacity',
  );
  const chunkAdmission = new Admission(
    limits.max_concurrent_snapshot_chunk_requests,
    'snapshot_chunk_capacity',
  );

  async function writeTx<T>(
    fn: (tx: Queryable) => Promise<T>,
    txOptions?: Parameters<SyncDatabase['transaction']>[1],
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await options.db.transaction(fn, txOptions);
      } catch (err) {
        if (attempt < 4 && isRetryableTxError(err)) {
          await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
          continue;
        }
        throw err;
      }
    }
  }

  const ctx: ServiceContext = {
    db: options.db,
    get catalog(): Catalog {
      if (!catalog) throw new Error('call bootstrap() before serving requests');
      return catalog;
    },
    limits,
    logger,
    hub,
    appName: options.appName ?? 'oversync',
    schemaVersion: options.schemaVersion ?? 1,
    watchEnabled,
    dialect: 'g2',
    g1Hashes: new G1HashCache(),
    now,
    randomUUID,
    writeTx: writeTx as ServiceContext['writeTx'],
  };
  const features: Record<string, boolean> = {
    accepted_push_replay_visibility: true,
    bundle_change_watch: watchEnabled,
    bundle_pull: true,
    bundle_push: true,
    capabilities_endpoint: true,
    committed_bundle_row_fetch: true,
    committed_bundle_visibility: true,
    connect_lifecycle: true,
    graceful_shutdown: true,
    history_pruned_errors: true,
    history_pruned_visibility: true,
    push_session_chunking: true,
    registered_write_rejection_enforced: true,
    retained_floor_visibility: true,
    retained_window_visibility: true,
    scope_initialization_leases: true,
    server_checkpoint_tracking: false,
    snapshot_chunking: true,
    status_endpoint: true,
    structured_sync_keys: true,
  };
  const status = createStatusReporter(ctx, features);

  async function capabilities(actor: Actor, dialect: Dialect): Promise<string> {
    const watchAllowed =
      watchEnabled && (options.watch?.allowed ? await options.watch.allowed(actor) : true);
    const tables = ctx.catalog.tables;
    if (dialect === 'g1') {
      return g1Capabilities(ctx, limits, { ...features, bundle_change_watch: watchAllowed });
    }
    return JSON.stringify({
      protocol_version: PROTOCOL_VERSION,
      schema_version: ctx.schemaVersion,
      app_name: ctx.appName,
      registered_tables: tables.map((t) => `${t.schema}.${t.table}`),
      registered_table_specs: tables.map((t) => ({
        schema: t.schema,
        table: t.table,
        sync_key_columns: [t.keyColumn],
      })),
      features: { ...features, bundle_change_watch: watchAllowed },
      // 0 means unlimited and is omitted, as clients treat an absent limit.
      bundle_limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v > 0)),
    });
  }

  async function authenticate(request: Request): Promise<Actor> {
    let principal: Principal | null = null;
    try {
      principal = await options.authenticate(request);
    } catch (err) {
      logger.debug({ err }, 'authenticate threw');
    }
    const userId = principal?.userId;
    if (typeof userId !== 'string' || userId.trim() === '' || userId.length > 255) {
      throw new SyncError('authentication_failed', 'authentication failed');
    }
    const source = request.headers.get(SOURCE_ID_HEADER)?.trim() ?? '';
    if (source === '')
      throw new SyncError('invalid_request', `${SOURCE_ID_HEADER} header is required`);
    if (!isValidSourceId(source)) {
      throw new SyncError(
        'invalid_request',
        `${SOURCE_ID_HEADER} must be 1-255 visible ASCII characters`,
      );
    }
    return { userId: userId.trim(), sourceId: source };
  }

  const dialectContexts: Record<Dialect, ServiceContext> = {
    g2: ctx,
    g1: Object.create(ctx, { dialect: { value: 'g1', enumerable: true } }) as ServiceContext,
  };

  async function dispatch(
    rctx: ServiceContext,
    name: RouteName,
    request: Request,
    actor: Actor,
    param: string,
    url: URL,
  ): Promise<Response> {
    const g1 = rctx.dialect === 'g1';
    const json = (text: string, status = 200) =>
      g1 ? g1Json(text, status) : jsonText(text, status);
    // G1 bundle rows are rendered with Go's escaping already: no second pass over the body.
    const rowsJson = (text: string) =>
      g1 ? g1Json(text, 200, {}, { escaped: true }) : jsonText(text);
    const body = (o?: Parameters<typeof readJsonBody>[2]) => readJsonBody(request, maxBodyBytes, o);
    switch (name) {
      case 'capabilities':
        return json(await capabilities(actor, rctx.dialect));
      case 'connect': {
        const result = await connect(rctx, actor, await body());
        return json(g1 ? g1ConnectBody(result) : JSON.stringify(result));
      }
      case 'pushCreate':
        return json(await createPushSession(rctx, actor, await body()));
      case 'pushChunk': {
        if (!g1) return json(await uploadChunk(rctx, actor, param, await body()));
        // G1 payload numbers are JSON numbers: parse without losing digits, then convert
        // to the stored form per column type before the shared validation.
        const text = await readBodyText(request, maxBodyBytes);
        let parsed: ReturnType<typeof parseLosslessJson>;
        try {
          parsed = parseLosslessJson(text);
        } catch {
          throw new SyncError('invalid_request', 'request body is not valid JSON');
        }
        return json(await uploadChunk(rctx, actor, param, g1ChunkToStored(rctx.catalog, parsed)));
      }
      case 'pushCommit':
        return json(await commitPushSession(rctx, actor, param));
      case 'pushDelete':
        await deletePushSession(rctx, actor, param);
        return new Response(null, { status: 204 });
      case 'committedRows':
        return rowsJson(await committedBundleRows(rctx, actor, param, url.searchParams));
      case 'pull':
        return rowsJson(await pull(rctx, actor, url.searchParams));
      case 'watch': {
        if (watchEnabled && options.watch?.allowed && !(await options.watch.allowed(actor))) {
          throw new SyncError(
            'bundle_change_watch_forbidden',
            'bundle change watch is forbidden for this actor',
          );
        }
        const stream = await openWatch(rctx, actor, url.searchParams, request.signal, heartbeatMs);
        return new Response(stream, {
          status: 200,
          headers: {
            'content-type': 'text/event-stream',
            'cache-control': 'no-cache',
            'x-accel-buffering': 'no',
          },
        });
      }
      case 'snapshotCreate': {
        const b = await body({ allowEmpty: true, invalidCode: 'snapshot_session_invalid' });
        return json(
          await buildAdmission.run(() => createSnapshot(rctx, actor, b), {
            waitMs: g1 ? G1_ADMISSION_WAIT_MS : 0,
          }),
        );
      }
      case 'snapshotChunk':
        return json(
          await chunkAdmission.run(() => snapshotChunk(rctx, actor, param, url.searchParams), {
            waitMs: g1 ? G1_ADMISSION_WAIT_MS : 0,
          }),
        );
      case 'snapshotDelete':
        await deleteSnapshot(rctx, actor, param);
        return new Response(null, { status: 204 });
      case 'health':
      case 'status': {
        const r = await status(lifecycle, inflight);
        return json(r.body, name === 'health' && !r.healthy ? 503 : 200);
      }
    }
  }

  async function handle(request: Request, dialect: Dialect, basePath: string): Promise<Response> {
    const rctx = dialectContexts[dialect];
    const fail = (err: SyncError): Response => {
      if (dialect !== 'g1') return errorResponse(err);
      return g1Json(g1ErrorBody(err), err.status, { ...err.headers });
    };
    const url = new URL(request.url);
    let path = url.pathname;
    if (basePath) {
      if (path !== basePath && !path.startsWith(`${basePath}/`))
        return fail(new SyncError('not_found', 'not found'));
      path = path.slice(basePath.length) || '/';
    }
    if (request.method === 'OPTIONS') return new Response(null, { status: 204 });
    const match = matchRoute(request.method, path);
    if (match.kind === 'not_found')
      return fail(new SyncError('not_found', `no endpoint at ${path}`));
    if (match.kind === 'method_not_allowed') {
      const res = fail(new SyncError('method_not_allowed', `use ${match.allow.join(' or ')}`));
      res.headers.set('Allow', match.allow.join(', '));
      return res;
    }
    const { route, param } = match;
    if (lifecycle !== 'running' && route.auth) {
      return fail(new SyncError('service_unavailable', 'sync service is shutting down'));
    }
    // Health and status probes are not sync operations: they neither count nor are awaited.
    const counted = route.auth;
    if (counted) inflight++;
    try {
      const actor = route.auth ? await authenticate(request) : { userId: '', sourceId: '' };
      return await dispatch(rctx, route.name, request, actor, param, url);
    } catch (err) {
      if (isSyncError(err)) return fail(err);
      if (isTransientDatabaseError(err)) {
        logger.warn({ err, route: route.name }, 'database unavailable');
        return fail(
          new SyncError('service_unavailable', 'database temporarily unavailable; retry', {
            headers: { 'Retry-After': '1' },
          }),
        );
      }
      logger.error({ err, route: route.name }, 'sync request failed');
      return fail(new SyncError(route.failure, 'internal error'));
    } finally {
      if (counted) {
        inflight--;
        if (inflight === 0) for (const d of drained.splice(0)) d();
      }
    }
  }

  function mount(dialect: Dialect, base: string): (request: Request) => Promise<Response> {
    const normalized = base.replace(/\/+$/, '');
    return async (request) => {
      const response = await handle(request, dialect, normalized);
      const headers = corsHeaders(cors, request);
      for (const [k, v] of Object.entries(headers)) response.headers.set(k, v);
      // go-oversync never compresses, and G1 tooling relies on it: a Go reverse proxy that
      // forwards the client's Accept-Encoding reads the body without inflating it.
      return dialect === 'g1' ? response : maybeCompress(request, response);
    };
  }
  const defaultMount = mount(options.dialect ?? 'g2', basePath);

  return {
    async bootstrap() {
      const result = await bootstrapDatabase(options.db, options.tables, {
        logger,
        now,
        randomUUID,
      });
      catalog = result.catalog;
      for (const b of result.adopted) hub.announce(b);
      if (watchEnabled) await hub.start();
      const interval = options.retention?.pruneIntervalMs ?? 60_000;
      if (interval > 0) {
        const window = options.retention?.retainedBundlesPerUser ?? 10_000;
        pruneTimer = setInterval(() => {
          pruneOnce(ctx, window).catch((err: unknown) =>
            logger.warn({ err }, 'pruning pass failed'),
          );
        }, interval);
        pruneTimer.unref?.();
      }
    },
    fetch: (request: Request): Promise<Response> => defaultMount(request),
    handler: ({ dialect, basePath: base = '' }) => mount(dialect, base),
    scopeManager: {
      async execWrite(scopeId, { writerId }, fn) {
        const r = await withinSyncBundle(
          ctx,
          { userId: scopeId, sourceId: writerId, sourceBundleId: 0 },
          fn,
          {
            autoInitialize: true,
            requireChanges: true,
            allocateSourceBundleId: true,
          },
        );
        return {
          result: r.result,
          bundle: r.bundle as ServerBundle,
          autoInitialized: r.autoInitialized,
        };
      },
    },
    async withinSyncBundle(target, fn) {
      const r = await withinSyncBundle(ctx, target, fn, {
        autoInitialize: false,
        requireChanges: false,
        allocateSourceBundleId: false,
      });
      return { result: r.result, bundle: r.bundle };
    },
    setRetainedFloor: (userId, floor) => setRetainedFloor(ctx, userId, BigInt(floor)),
    pruneHistory: () => pruneOnce(ctx, options.retention?.retainedBundlesPerUser ?? 10_000),
    watchSubscriberCount: (userId: string): number => hub.countByUserId(userId),
    async close({ timeoutMs = 10_000 } = {}) {
      if (lifecycle === 'closed') return;
      lifecycle = 'shutting_down';
      if (pruneTimer) clearInterval(pruneTimer);
      await hub.close();
      if (inflight > 0) {
        await Promise.race([
          new Promise<void>((r) => drained.push(r)),
          new Promise<void>((r) => setTimeout(r, timeoutMs).unref?.()),
        ]);
      }
      lifecycle = 'closed';
    },
  };
}

/**
 * A request handler for one mount of a sync service: the wire generation (`g2`, the default,
 * for SQLiteNow Kotlin/Dart clients; `g1` for go-oversync's Go client) under a base path.
 * Any number of mounts can share one service, so one database serves both generations.
 *
 * @example
 * ```ts
 * const service = createSyncService({ db, tables, authenticate });
 * await service.bootstrap();
 * const goClients = createSyncHandler({ service, dialect: 'g1', basePath: '/g1' });
 * const kmpClients = createSyncHandler({ service, dialect: 'g2', basePath: '/g2' });
 * ```
 */
export function createSyncHandler(options: {
  service: SyncService;
  dialect?: Dialect;
  basePath?: string;
}): (request: Request) => Promise<Response> {
  return options.service.handler({
    dialect: options.dialect ?? 'g2',
    basePath: options.basePath ?? '',
  });
}
