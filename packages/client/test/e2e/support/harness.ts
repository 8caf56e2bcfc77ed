/**
 * End-to-end harness: the real `@oversync/server` in-process on a test backend (PGlite or real
 * PostgreSQL, from `BACKENDS`) with the `business-rich-v0` demo schema, and "devices": a
 * `@oversync/client` on a better-sqlite3 temp file whose `fetch` calls the service's Web handler
 * directly (no TCP port), through a {@link NetControl} that can take the network away, drop one
 * request, or "kill the process" right before or after a chosen request.
 *
 * @module
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientLimits,
  type ConflictResolver,
  createOversyncClient,
  type OversyncClient,
  type SqliteDriver,
  type SqlRow,
  type SqlValue,
} from '@oversync/client';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import {
  type Backend,
  type Json,
  type ServiceOptions,
  startTestServer,
  type TestServer,
} from '@oversync/test-kit';
import { expect } from 'vitest';
import { counts, localTables, type NormTables, pgTables, type SqlReader } from './compare.js';
import { LOCAL_SCHEMA_SQL, SYNC_SCHEMA, SYNC_TABLES } from './local-schema.js';

// ---------------------------------------------------------------------------------------------
// Server

/** The in-process server of one test file. */
export interface E2eServer {
  readonly backend: Backend;
  /** The test-kit server (raw protocol helpers, `service`, `database`). */
  readonly t: TestServer;
  /** Base URL the clients use (never dialled: `fetch` is injected). */
  readonly baseUrl: string;
  /** Normalised server tables of `userId`, read from PostgreSQL directly. */
  tables(userId: string): Promise<NormTables>;
  /** Every bundle of `userId` after `after` (raw pull with a probe source). */
  bundles(userId: string, after?: number): Promise<Json[]>;
  /** The stable bundle sequence of `userId`. */
  stableSeq(userId: string): Promise<number>;
  /** Server-originated write: one bundle written by `writerId`. */
  execWrite(
    userId: string,
    fn: (tx: { query: (sql: string, params?: unknown[]) => Promise<unknown> }) => Promise<unknown>,
    writerId?: string,
  ): Promise<{ bundleSeq: number }>;
  close(): Promise<void>;
}

/** Starts the server on `backend` with the demo schema; the pruning job is off. */
export async function startE2eServer(
  backend: Backend,
  serviceOptions: Partial<ServiceOptions> = {},
): Promise<E2eServer> {
  const t = await startTestServer({
    backend,
    serviceOptions: {
      retention: { pruneIntervalMs: 0 },
      watch: { enabled: true, heartbeatMs: 1000 },
      ...serviceOptions,
    },
  });
  const query = t.database.query.bind(t.database);
  return {
    backend,
    t,
    baseUrl: 'http://oversync.test/',
    tables: (userId) => pgTables(query, userId),
    async bundles(userId, after = 0) {
      return (await t.pullAll(userId, 'e2e-probe', after)).bundles;
    },
    async stableSeq(userId) {
      const r = await t.pull(userId, 'e2e-probe', { after_bundle_seq: 0, max_bundles: 1 });
      if (r.status === 200) return r.json.stable_bundle_seq as number;
      const rows = await query<{ s: string }>(
        'SELECT (next_bundle_seq - 1)::text AS s FROM sync.user_state WHERE user_id = $1',
        [userId],
      );
      return Number(rows[0]?.s ?? 0);
    },
    async execWrite(userId, fn, writerId = 'e2e-server-writer') {
      const r = await t.service.scopeManager.execWrite(userId, { writerId }, fn as never);
      return { bundleSeq: Number(r.bundle.bundleSeq) };
    },
    close: () => t.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Network control

/** The protocol endpoint a request goes to. */
export type Endpoint =
  | 'capabilities'
  | 'connect'
  | 'push_create'
  | 'push_chunk'
  | 'push_commit'
  | 'push_delete'
  | 'committed_rows'
  | 'pull'
  | 'snapshot_create'
  | 'snapshot_chunk'
  | 'snapshot_delete'
  | 'watch'
  | 'other';

/** Classifies a request. */
export function endpointOf(method: string, pathname: string): Endpoint {
  const p = pathname.replace(/\/+$/, '');
  if (p.endsWith('/sync/capabilities')) return 'capabilities';
  if (p.endsWith('/sync/connect')) return 'connect';
  if (p.endsWith('/sync/push-sessions')) return 'push_create';
  if (/\/sync\/push-sessions\/[^/]+\/chunks$/.test(p)) return 'push_chunk';
  if (/\/sync\/push-sessions\/[^/]+\/commit$/.test(p)) return 'push_commit';
  if (/\/sync\/push-sessions\/[^/]+$/.test(p) && method === 'DELETE') return 'push_delete';
  if (/\/sync\/committed-bundles\/[^/]+\/rows$/.test(p)) return 'committed_rows';
  if (p.endsWith('/sync/pull')) return 'pull';
  if (p.endsWith('/sync/snapshot-sessions')) return 'snapshot_create';
  if (/\/sync\/snapshot-sessions\/[^/]+$/.test(p)) {
    return method === 'DELETE' ? 'snapshot_delete' : 'snapshot_chunk';
  }
  if (p.endsWith('/sync/watch')) return 'watch';
  return 'other';
}

/** One request seen by a {@link NetControl}. */
export interface NetRecord {
  readonly endpoint: Endpoint;
  readonly method: string;
  readonly url: string;
  /** HTTP status, or `'failed'` when the request failed on the way (offline, fault). */
  status: number | 'failed';
  /** When the request was sent (ms since the epoch) and how long the server took. */
  readonly at: number;
  serverMs?: number;
}

/**
 * A fault: on the `nth` request (1-based, counted from arming) to `endpoint`, fail the request
 * `before` it reaches the server or `after` the server handled it (the response is lost).
 * `kill` also makes every later request fail — the process is dead; `blip` fails only this one.
 */
export interface Fault {
  readonly endpoint: Endpoint;
  readonly nth?: number;
  readonly when: 'before' | 'after';
  readonly mode: 'kill' | 'blip';
}

/** Thrown by the injected fetch for a simulated network failure. */
export class SimulatedNetworkError extends TypeError {
  constructor(reason: string) {
    super(`fetch failed: ${reason}`);
  }
}

/** The injected network of one device. */
export class NetControl {
  readonly log: NetRecord[] = [];
  /** When true every request fails (airplane mode). */
  offline = false;
  /** Set once a `kill` fault fired. */
  dead = false;
  #fault: (Fault & { seen: number }) | undefined;
  #fired = false;

  constructor(private readonly handler: (request: Request) => Promise<Response>) {}

  /** Arms one fault (replacing any armed one). */
  arm(fault: Fault): void {
    this.#fault = { ...fault, seen: 0 };
    this.#fired = false;
  }

  /** Whether the armed fault has fired. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Requests to `endpoint` so far. */
  count(endpoint: Endpoint): number {
    return this.log.filter((r) => r.endpoint === endpoint).length;
  }

  /** The `fetch` given to the client. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const record: NetRecord = {
      endpoint: endpointOf(request.method, url.pathname),
      method: request.method,
      url: `${url.pathname}${url.search}`,
      status: 'failed',
      at: Date.now(),
    };
    this.log.push(record);
    if (this.dead) throw new SimulatedNetworkError('the process was killed');
    if (this.offline) throw new SimulatedNetworkError('offline');
    const fault = this.#fault;
    let trigger: Fault | undefined;
    if (fault && !this.#fired && fault.endpoint === record.endpoint) {
      fault.seen++;
      if (fault.seen === (fault.nth ?? 1)) {
        trigger = fault;
        this.#fired = true;
      }
    }
    if (trigger?.when === 'before') {
      if (trigger.mode === 'kill') this.dead = true;
      throw new SimulatedNetworkError(`fault before ${record.endpoint}`);
    }
    const response = await this.handler(request);
    record.status = response.status;
    record.serverMs = Date.now() - record.at;
    if (trigger?.when === 'after') {
      await response.arrayBuffer().catch(() => undefined);
      record.status = 'failed';
      if (trigger.mode === 'kill') this.dead = true;
      throw new SimulatedNetworkError(`fault after ${record.endpoint} (response lost)`);
    }
    return response;
  };
}

// ---------------------------------------------------------------------------------------------
// Devices

/** A temp directory for the SQLite files of one test file. */
export class TempFiles {
  readonly dir = mkdtempSync(join(tmpdir(), 'oversync-e2e-'));
  #n = 0;

  /** A fresh database path. */
  file(label: string): string {
    this.#n++;
    return join(this.dir, `${label.replace(/[^a-z0-9_-]/gi, '_')}-${this.#n}.sqlite`);
  }

  /** Removes the directory. */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options of a {@link Device}. */
export interface DeviceOptions {
  /** The user this device authenticates as (the bearer token); may change (user switch). */
  user: string;
  /** SQLite file; reusing one simulates a restart of the app over the same database. */
  file: string;
  label?: string;
  resolver?: ConflictResolver;
  limits?: Partial<ClientLimits>;
  maxConflictRetries?: number;
  /** Keep transient retry (default: 2 attempts with tiny backoff, so faults fail fast). */
  retryAttempts?: number;
  /** App SQL run before the client first opens (rows that predate sync). Not re-run on reopen. */
  seedSql?: string;
}

/**
 * One app install: a SQLite file with the demo tables, a driver and a client. App writes go
 * through the same driver (the engine serialises calls on it).
 */
export class Device implements SqlReader {
  readonly net: NetControl;
  client!: OversyncClient;
  driver!: SqliteDriver;
  #running = false;

  private constructor(
    readonly server: E2eServer,
    readonly options: DeviceOptions,
  ) {
    this.net = new NetControl((req) => server.t.service.fetch(req));
  }

  /** Creates the app tables if missing, builds the client and opens it (no attach). */
  static async open(server: E2eServer, options: DeviceOptions): Promise<Device> {
    const d = new Device(server, options);
    await d.#start();
    return d;
  }

  /** The same database file opened by a new process (new driver, client and network). */
  async reopen(overrides: Partial<DeviceOptions> = {}): Promise<Device> {
    await this.crash();
    const { seedSql: _ignored, ...options } = this.options;
    return Device.open(this.server, { ...options, ...overrides });
  }

  get user(): string {
    return this.options.user;
  }

  set user(value: string) {
    this.options.user = value;
  }

  get file(): string {
    return this.options.file;
  }

  async #start(): Promise<void> {
    this.driver = createBetterSqlite3Driver({ filename: this.options.file });
    await this.driver.exec(LOCAL_SCHEMA_SQL);
    if (this.options.seedSql) await this.driver.exec(this.options.seedSql);
    this.client = createOversyncClient({
      driver: this.driver,
      baseUrl: this.server.baseUrl,
      getToken: () => `user:${this.options.user}`,
      schema: SYNC_SCHEMA,
      tables: SYNC_TABLES,
      fetch: this.net.fetch,
      ...(this.options.resolver ? { resolver: this.options.resolver } : {}),
      ...(this.options.limits ? { limits: this.options.limits } : {}),
      ...(this.options.maxConflictRetries === undefined
        ? {}
        : { maxConflictRetries: this.options.maxConflictRetries }),
      retry: { maxAttempts: this.options.retryAttempts ?? 2, initialBackoffMs: 1, maxBackoffMs: 5 },
    });
    await this.client.open();
    this.#running = true;
  }

  /** Attaches `this.user` and expects `connected`. */
  async attach(): Promise<string> {
    const r = await this.client.attach(this.options.user);
    if (r.status !== 'connected') throw new Error(`attach: ${JSON.stringify(r)}`);
    return r.outcome;
  }

  /** Simulates process death: the network dies, the client and the connection are dropped. */
  async crash(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.net.dead = true;
    await this.client.close().catch(() => undefined);
    await this.driver.close().catch(() => undefined);
  }

  /** Closes cleanly. */
  async close(): Promise<void> {
    await this.crash();
  }

  // --- app-side SQL ---

  run(sql: string, params: readonly SqlValue[] = []): Promise<unknown> {
    return this.driver.run(sql, params);
  }

  all<T extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.driver.all<T>(sql, params);
  }

  /** Runs several app statements in one transaction. */
  tx(statements: readonly (readonly [string, readonly SqlValue[]])[]): Promise<void> {
    return this.driver.transaction(async (tx) => {
      for (const [sql, params] of statements) await tx.run(sql, params);
    });
  }

  async count(table: string): Promise<number> {
    const rows = await this.driver.all<{ n: number }>(`SELECT count(*) AS n FROM "${table}"`);
    return Number(rows[0]?.n ?? 0);
  }

  insertUser(id: string, name: string, email = `${name.toLowerCase()}@example.com`) {
    return this.run('INSERT INTO users(id, name, email) VALUES (?, ?, ?)', [id, name, email]);
  }

  updateUser(id: string, name: string) {
    return this.run('UPDATE users SET name = ? WHERE id = ?', [name, id]);
  }

  deleteUser(id: string) {
    return this.run('DELETE FROM users WHERE id = ?', [id]);
  }

  async userName(id: string): Promise<string | undefined> {
    const rows = await this.all<{ name: string }>('SELECT name FROM users WHERE id = ?', [id]);
    return rows[0]?.name;
  }

  tables(): Promise<NormTables> {
    return localTables(this);
  }

  async pending(): Promise<number> {
    return (await this.client.pendingSyncStatus()).pendingRowCount;
  }
}

// ---------------------------------------------------------------------------------------------
// Assertions

/**
 * Asserts that every device equals the server's PostgreSQL rows of `userId`, has nothing
 * pending and has seen the server's stable sequence.
 */
export async function expectConverged(
  server: E2eServer,
  userId: string,
  devices: readonly Device[],
): Promise<NormTables> {
  const remote = await server.tables(userId);
  const stable = await server.stableSeq(userId);
  for (const d of devices) {
    const local = await d.tables();
    expect(counts(local), `row counts of ${d.options.label ?? d.file}`).toEqual(counts(remote));
    expect(local, `rows of ${d.options.label ?? d.file}`).toEqual(remote);
    const status = await d.client.syncStatus();
    expect(status.pending, `pending of ${d.options.label ?? d.file}`).toEqual({
      hasPendingSyncData: false,
      pendingRowCount: 0,
      blocksDetach: false,
    });
    expect(status.lastBundleSeqSeen, `checkpoint of ${d.options.label ?? d.file}`).toBe(stable);
    expect(status.attachedUserId).toBe(userId);
  }
  return remote;
}

/** Syncs every device in order, `rounds` times. */
export async function syncAll(devices: readonly Device[], rounds = 1): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const d of devices) await d.client.sync();
  }
}

/** A random v4-shaped UUID. */
export function newId(): string {
  return crypto.randomUUID();
}
