/**
 * In-process test server: a database, the demo schema, a bootstrapped sync service and a tiny
 * HTTP-shaped client that calls `service.fetch(new Request(...))`, plus helpers that perform
 * whole G2 flows (connect, push, pull, snapshot).
 *
 * @module
 */

import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '@oversync/cli';
import { pushRequestHashInput, sha256Hex } from '@oversync/protocol';
import { createSyncService } from '@oversync/server';
import { type Backend, createTestDatabase, type TestDatabase } from './backends.js';

/** The service type as returned by `createSyncService`. */
export type SyncService = ReturnType<typeof createSyncService>;
/** Options of `createSyncService`. */
export type ServiceOptions = Parameters<typeof createSyncService>[0];
/** Registered tables option of `createSyncService`. */
export type TableSpecs = ServiceOptions['tables'];

/** JSON value as decoded by `JSON.parse`. */
// biome-ignore lint/suspicious/noExplicitAny: decoded JSON is inspected freely by tests
export type Json = any;

/** A decoded response. */
export interface Res {
  status: number;
  headers: Headers;
  /** Parsed body, or `undefined` when the body is empty or not JSON. */
  json: Json;
  text: string;
}

/** Options of {@link TestClient.req}. */
export interface ReqOptions {
  /** User id sent as `Authorization: Bearer user:<id>`; `null`/absent sends no Authorization. */
  user?: string | null;
  /** `Oversync-Source-ID` header value; `null`/absent sends none. */
  source?: string | null;
  /** JSON body (serialized with `JSON.stringify`). */
  body?: unknown;
  /** Raw body, sent as is (wins over `body`). */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A push row as sent on the wire. */
export interface PushRow {
  schema: string;
  table: string;
  key: Record<string, string>;
  op: string;
  base_row_version: number;
  payload?: Record<string, unknown> | null;
}

/** Everything that happened during {@link TestClient.pushBundle}. */
export interface PushResult {
  canonicalRequestHash: string;
  create: Res;
  chunks: Res[];
  /** Absent when create or a chunk failed. */
  commit?: Res;
  pushId?: string;
}

/** Authorization header value the test authenticator accepts for `userId`. */
export function bearer(userId: string): string {
  return `Bearer user:${userId}`;
}

/** The test `authenticate` hook: `Bearer user:<id>` → `{ userId }`, anything else → null. */
export function testAuthenticate(request: Request): { userId: string } | null {
  const h = request.headers.get('authorization');
  if (h === null) return null;
  const m = /^Bearer user:(\S+)$/.exec(h);
  return m?.[1] ? { userId: m[1] } : null;
}

/** lowercase hex SHA-256 `canonical_request_hash` of `rows` in upload order. */
export function canonicalRequestHash(rows: readonly PushRow[]): Promise<string> {
  return sha256Hex(
    pushRequestHashInput(
      rows.map((r) => ({
        schema: r.schema,
        table: r.table,
        key: r.key,
        op: r.op as 'INSERT' | 'UPDATE' | 'DELETE',
        baseRowVersion: r.base_row_version,
        payload: r.payload ?? null,
      })),
    ),
  );
}

function describeRes(what: string, r: Res): string {
  return `${what}: HTTP ${r.status} ${r.text.slice(0, 2000)}`;
}

/** Throws with the response text unless `r.status === status`. */
export function expectStatus(what: string, r: Res, status = 200): Res {
  if (r.status !== status) throw new Error(`${describeRes(what, r)} (expected ${status})`);
  return r;
}

/** Row builders for the demo `business` schema (and any schema via `schema`). */
export function ins(
  table: string,
  id: string,
  payload: Record<string, unknown>,
  base = 0,
  schema = 'business',
): PushRow {
  return {
    schema,
    table,
    key: { id },
    op: 'INSERT',
    base_row_version: base,
    payload: { id, ...payload },
  };
}

export function upd(
  table: string,
  id: string,
  payload: Record<string, unknown>,
  base: number,
  schema = 'business',
): PushRow {
  return {
    schema,
    table,
    key: { id },
    op: 'UPDATE',
    base_row_version: base,
    payload: { id, ...payload },
  };
}

export function del(table: string, id: string, base: number, schema = 'business'): PushRow {
  return { schema, table, key: { id }, op: 'DELETE', base_row_version: base };
}

/** A `business.users` INSERT row. */
export function userIns(id: string, name = `name-${id.slice(-4)}`, base = 0): PushRow {
  return ins('users', id, { name, email: `${name}@example.com` }, base);
}

/** A client bound to one service instance. */
export class TestClient {
  constructor(readonly service: SyncService) {}

  /** Builds the Request `req` would send. */
  request(method: string, path: string, opts: ReqOptions = {}): Request {
    const headers = new Headers(opts.headers);
    if (opts.user != null && !headers.has('authorization')) {
      headers.set('Authorization', bearer(opts.user));
    }
    if (opts.source != null) headers.set('Oversync-Source-ID', opts.source);
    let body: string | Uint8Array | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
    }
    return new Request(`http://test${path}`, {
      method,
      headers,
      body: body as BodyInit | undefined,
      signal: opts.signal,
    });
  }

  /** Sends a request and returns the raw Response (streaming bodies, gzip). */
  async raw(method: string, path: string, opts: ReqOptions = {}): Promise<Response> {
    return this.service.fetch(this.request(method, path, opts));
  }

  /** Sends a request and decodes the body. */
  async req(method: string, path: string, opts: ReqOptions = {}): Promise<Res> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    let json: Json;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  /** `POST /sync/connect`, raw response. */
  connectRaw(user: string, source: string, hasPending: boolean): Promise<Res> {
    return this.req('POST', '/sync/connect', {
      user,
      source,
      body: { has_local_pending_rows: hasPending },
    });
  }

  /** `POST /sync/connect`, asserting 200; returns the body. */
  async connect(user: string, source: string, hasPending: boolean): Promise<Json> {
    return expectStatus('connect', await this.connectRaw(user, source, hasPending)).json;
  }

  /** Connects `user` with no pending rows (initialize_empty) so the scope is INITIALIZED. */
  async initEmpty(user: string, source = 'init-src'): Promise<void> {
    const c = await this.connect(user, source, false);
    if (c.resolution !== 'initialize_empty' && c.resolution !== 'remote_authoritative') {
      throw new Error(`initEmpty: unexpected resolution ${JSON.stringify(c)}`);
    }
  }

  /** `POST /sync/push-sessions`. */
  createPush(user: string, source: string, body: unknown): Promise<Res> {
    return this.req('POST', '/sync/push-sessions', { user, source, body });
  }

  /** `POST /sync/push-sessions/{id}/chunks`. */
  chunk(user: string, source: string, pushId: string, startRowOrdinal: number, rows: unknown[]) {
    return this.req('POST', `/sync/push-sessions/${encodeURIComponent(pushId)}/chunks`, {
      user,
      source,
      body: { start_row_ordinal: startRowOrdinal, rows },
    });
  }

  /** `POST /sync/push-sessions/{id}/commit` (no body). */
  commit(user: string, source: string, pushId: string): Promise<Res> {
    return this.req('POST', `/sync/push-sessions/${encodeURIComponent(pushId)}/commit`, {
      user,
      source,
    });
  }

  /** `DELETE /sync/push-sessions/{id}`. */
  deletePush(user: string, source: string, pushId: string): Promise<Res> {
    return this.req('DELETE', `/sync/push-sessions/${encodeURIComponent(pushId)}`, {
      user,
      source,
    });
  }

  /**
   * Create → chunks → commit. Stops at the first non-200 step (then `commit` is absent).
   * `canonical_request_hash` is computed over `rows` unless given.
   */
  async pushBundle(
    user: string,
    source: string,
    sourceBundleId: number,
    rows: PushRow[],
    opts: {
      initializationId?: string;
      chunkSize?: number;
      canonicalRequestHash?: string;
      commit?: boolean;
    } = {},
  ): Promise<PushResult> {
    const hash = opts.canonicalRequestHash ?? (await canonicalRequestHash(rows));
    const body: Record<string, unknown> = {
      source_bundle_id: sourceBundleId,
      planned_row_count: rows.length,
      canonical_request_hash: hash,
    };
    if (opts.initializationId !== undefined) body.initialization_id = opts.initializationId;
    const create = await this.createPush(user, source, body);
    const result: PushResult = { canonicalRequestHash: hash, create, chunks: [] };
    if (create.status !== 200 || create.json?.status !== 'staging') return result;
    const pushId: string = create.json.push_id;
    result.pushId = pushId;
    const size = opts.chunkSize ?? 1000;
    for (let start = 0; start < rows.length; start += size) {
      const r = await this.chunk(user, source, pushId, start, rows.slice(start, start + size));
      result.chunks.push(r);
      if (r.status !== 200) return result;
    }
    if (opts.commit === false) return result;
    result.commit = await this.commit(user, source, pushId);
    return result;
  }

  /** {@link pushBundle} that must commit with 200; returns the commit body. */
  async pushOk(
    user: string,
    source: string,
    sourceBundleId: number,
    rows: PushRow[],
    opts: { initializationId?: string; chunkSize?: number } = {},
  ): Promise<Json> {
    const r = await this.pushBundle(user, source, sourceBundleId, rows, opts);
    if (r.create.status !== 200 || r.create.json?.status !== 'staging') {
      throw new Error(describeRes('push create', r.create));
    }
    const bad = r.chunks.find((c) => c.status !== 200);
    if (bad) throw new Error(describeRes('push chunk', bad));
    if (!r.commit) throw new Error('push: no commit');
    return expectStatus('push commit', r.commit).json;
  }

  /** `GET /sync/pull` with query parameters. */
  pull(user: string, source: string, query: Record<string, string | number>): Promise<Res> {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.req('GET', `/sync/pull${qs ? `?${qs}` : ''}`, { user, source });
  }

  /**
   * Pulls every bundle after `after`, freezing `target_bundle_seq` from the first page.
   * Asserts 200 on every page and the stable-ceiling echo.
   */
  async pullAll(
    user: string,
    source: string,
    after = 0,
    maxBundles = 1000,
  ): Promise<{ stable: number; bundles: Json[]; pages: Json[] }> {
    const pages: Json[] = [];
    const bundles: Json[] = [];
    let cursor = after;
    let target: number | undefined;
    for (let i = 0; i < 10_000; i++) {
      const q: Record<string, number> = { after_bundle_seq: cursor, max_bundles: maxBundles };
      if (target !== undefined) q.target_bundle_seq = target;
      const page = expectStatus('pull', await this.pull(user, source, q)).json;
      pages.push(page);
      if (target === undefined) target = page.stable_bundle_seq;
      else if (page.stable_bundle_seq !== target) {
        throw new Error(`pull: stable_bundle_seq changed ${target} → ${page.stable_bundle_seq}`);
      }
      bundles.push(...page.bundles);
      if (page.bundles.length > 0) cursor = page.bundles[page.bundles.length - 1].bundle_seq;
      if (!page.has_more) break;
      if (page.bundles.length === 0) throw new Error('pull: has_more with no bundles');
    }
    return { stable: target ?? 0, bundles, pages };
  }

  /** `GET /sync/committed-bundles/{seq}/rows`. */
  committedRows(
    user: string,
    source: string,
    seq: number | string,
    query: Record<string, string | number> = {},
  ): Promise<Res> {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.req('GET', `/sync/committed-bundles/${seq}/rows${qs ? `?${qs}` : ''}`, {
      user,
      source,
    });
  }

  /** Every committed row of bundle `seq` (paged by `maxRows`); asserts 200 per page. */
  async committedRowsAll(
    user: string,
    source: string,
    seq: number,
    maxRows = 1000,
  ): Promise<{ rows: Json[]; pages: Json[] }> {
    const rows: Json[] = [];
    const pages: Json[] = [];
    let after: number | undefined;
    for (let i = 0; i < 100_000; i++) {
      const q: Record<string, number> = { max_rows: maxRows };
      if (after !== undefined) q.after_row_ordinal = after;
      const page = expectStatus(
        'committed rows',
        await this.committedRows(user, source, seq, q),
      ).json;
      pages.push(page);
      rows.push(...page.rows);
      after = page.next_row_ordinal;
      if (!page.has_more) break;
    }
    return { rows, pages };
  }

  /** `POST /sync/snapshot-sessions` (no body unless given). */
  createSnapshot(user: string, source: string, body?: unknown): Promise<Res> {
    return this.req('POST', '/sync/snapshot-sessions', { user, source, body });
  }

  /** `GET /sync/snapshot-sessions/{id}`. */
  snapshotChunk(
    user: string,
    source: string,
    snapshotId: string,
    query: Record<string, string | number>,
  ): Promise<Res> {
    const qs = new URLSearchParams(
      Object.entries(query).map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.req(
      'GET',
      `/sync/snapshot-sessions/${encodeURIComponent(snapshotId)}${qs ? `?${qs}` : ''}`,
      { user, source },
    );
  }

  /** `DELETE /sync/snapshot-sessions/{id}`. */
  deleteSnapshot(user: string, source: string, snapshotId: string): Promise<Res> {
    return this.req('DELETE', `/sync/snapshot-sessions/${encodeURIComponent(snapshotId)}`, {
      user,
      source,
    });
  }

  /** Creates a snapshot session and reads every chunk; asserts 200 throughout. */
  async snapshotAll(
    user: string,
    source: string,
    opts: { maxRows?: number; maxBytes?: number; body?: unknown } = {},
  ): Promise<{ session: Json; rows: Json[]; chunks: Json[] }> {
    const session = expectStatus(
      'snapshot create',
      await this.createSnapshot(user, source, opts.body),
    ).json;
    const rows: Json[] = [];
    const chunks: Json[] = [];
    let after = 0;
    for (let i = 0; i < 100_000; i++) {
      const chunk = expectStatus(
        'snapshot chunk',
        await this.snapshotChunk(user, source, session.snapshot_id, {
          after_row_ordinal: after,
          max_rows: opts.maxRows ?? 1000,
          max_bytes: opts.maxBytes ?? 4_194_304,
        }),
      ).json;
      chunks.push(chunk);
      rows.push(...chunk.rows);
      after = chunk.next_row_ordinal;
      if (!chunk.has_more) break;
    }
    return { session, rows, chunks };
  }
}

/** Options of {@link startTestServer}. */
export interface StartOptions {
  backend: Backend;
  /** Registered tables (default: `DEMO_TABLES`). */
  tables?: TableSpecs;
  /** Schema SQL applied before bootstrap (default: `DEMO_SCHEMA_SQL`). */
  schemaSql?: string;
  /** SQL run after the schema and before bootstrap (e.g. pre-existing rows for adoption). */
  seedSql?: string;
  /** Extra `createSyncService` options (limits, now, ...). */
  serviceOptions?: Partial<ServiceOptions>;
}

/** A running in-process server over its own database. */
export interface TestServer extends TestClient {
  backend: Backend;
  database: TestDatabase;
  tables: TableSpecs;
  /**
   * Another service instance on the same database (and the same registered tables), e.g. with
   * other limits or clock. Closed by {@link TestServer.close}. `separateHandle` opens a second
   * database handle (a second "process").
   */
  withService(
    serviceOptions?: Partial<ServiceOptions>,
    opts?: { separateHandle?: boolean },
  ): Promise<TestClient>;
  /** Closes every service and disposes the database. */
  close(): Promise<void>;
}

/** Bootstraps a sync service over `db` with the test authenticator. */
export async function bootService(
  db: TestDatabase['db'],
  tables: TableSpecs,
  serviceOptions: Partial<ServiceOptions> = {},
): Promise<SyncService> {
  const service = createSyncService({
    db,
    tables,
    authenticate: testAuthenticate,
    ...serviceOptions,
  } as ServiceOptions);
  try {
    await service.bootstrap();
  } catch (e) {
    await closeService(service);
    throw e;
  }
  return service;
}

async function closeService(s: SyncService): Promise<void> {
  try {
    await s.close();
  } catch {
    // already closed
  }
}

/**
 * Creates a database on `backend`, applies the schema, bootstraps the service and returns a
 * client for it. One per test file (PGlite is expensive); separate tests by user id.
 */
export async function startTestServer(opts: StartOptions): Promise<TestServer> {
  const database = await createTestDatabase(opts.backend);
  const services: SyncService[] = [];
  try {
    await database.exec(opts.schemaSql ?? DEMO_SCHEMA_SQL);
    if (opts.seedSql) await database.exec(opts.seedSql);
    const tables = opts.tables ?? (DEMO_TABLES as TableSpecs);
    const service = await bootService(database.db, tables, opts.serviceOptions);
    services.push(service);
    const client = new TestClient(service) as TestServer;
    client.backend = opts.backend;
    client.database = database;
    client.tables = tables;
    client.withService = async (serviceOptions = {}, o = {}) => {
      const db = o.separateHandle ? database.openAnother() : database.db;
      const s = await bootService(db, tables, serviceOptions);
      services.push(s);
      return new TestClient(s);
    };
    client.close = async () => {
      for (const s of services.reverse()) await closeService(s);
      await database.dispose();
    };
    return client;
  } catch (e) {
    for (const s of services) await closeService(s);
    await database.dispose();
    throw e;
  }
}
