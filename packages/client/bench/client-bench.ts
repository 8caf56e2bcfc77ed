/**
 * oversync client benchmark: (a) hydration of a fresh client database from a real server over
 * HTTP, next to raw better-sqlite3 inserts of the same rows; (b) the cost of the capture
 * triggers on local writes.
 *
 *   npm run bench:client
 *
 * Environment:
 *   OVERSYNC_BENCH_PG_URL  admin URL of a PostgreSQL server; a database oversync_cbench_<random>
 *                          is created there and dropped at the end. Default:
 *                          postgres://postgres@127.0.0.1:5432/postgres when it answers, else PGlite
 *   BENCH_BACKEND=pglite   use embedded PGlite even when PostgreSQL is reachable
 *   BENCH_HYDRATE_ROWS     rows of the hydrated user (default 100000)
 *   BENCH_SEED_BUNDLE_ROWS rows per server-side seeding bundle (default 10000)
 *   BENCH_HYDRATE_REPEATS  hydrations with the default limits (default 2; the best is reported)
 *   BENCH_TUNED=1          also one hydration with the largest chunks the server allows
 *                          (4000-row chunks, 2000-row apply batches)
 *   BENCH_REPEATS          repetitions of the raw baselines and of the trigger measurement (default 3)
 *   BENCH_TRACE=1          log every request of each hydration with its time
 *   BENCH_TRIGGER_ROWS     rows of the trigger-overhead measurement (default 20000)
 *   BENCH_AUTOCOMMIT_ROWS  rows of the autocommit trigger measurement (default 500)
 *   BENCH_WRITE_DOCS=1     replace the results block of the "Client" section of
 *                          docs/benchmarks.md with this run (appending the section if missing)
 *   BENCH_JSON_OUT         also write the raw results as JSON to this file
 *
 * See docs/benchmarks.md ("Client") for what each number means.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import {
  createOversyncClient,
  type OversyncClientOptions,
  type ProgressEvent,
  type SqlValue,
} from '@oversync/client';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import {
  createPgDatabase,
  createPgliteDatabase,
  createSyncService,
  type SyncDatabase,
  type SyncService,
} from '@oversync/server';
import { toNodeListener } from '@oversync/server/node';
import Database from 'better-sqlite3';
import pg from 'pg';
import { envInt } from '../../server/bench/lib/env.js';
import { int, markdownTable, ms } from '../../server/bench/lib/stats.js';
import {
  type BenchRow,
  makeRows,
  payloadOf,
  prng,
  rawColumns,
  SCHEMA,
  TABLE,
  tableDdl,
} from '../../server/bench/lib/workload.js';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const cfg = {
  pgUrl: process.env.OVERSYNC_BENCH_PG_URL,
  forcePglite: process.env.BENCH_BACKEND === 'pglite',
  hydrateRows: envInt('BENCH_HYDRATE_ROWS', 100_000),
  seedBundleRows: envInt('BENCH_SEED_BUNDLE_ROWS', 10_000),
  hydrateRepeats: envInt('BENCH_HYDRATE_REPEATS', 2),
  tuned: process.env.BENCH_TUNED === '1',
  repeats: envInt('BENCH_REPEATS', 3),
  triggerRows: envInt('BENCH_TRIGGER_ROWS', 20_000),
  autocommitRows: envInt('BENCH_AUTOCOMMIT_ROWS', 500),
  writeDocs: process.env.BENCH_WRITE_DOCS === '1',
  jsonOut: process.env.BENCH_JSON_OUT,
};
/** Targets of the client (docs/benchmarks.md, "Client"). */
const TARGET_HYDRATE_ROWS_PER_S = 100_000;
const TARGET_TRIGGER_RATIO = 1.5;

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const DOCS = join(repoRoot, 'docs/benchmarks.md');
const scratch = mkdtempSync(join(os.tmpdir(), 'oversync-client-bench-'));
const log = (msg: string) => process.stderr.write(`[client-bench] ${msg}\n`);

/** The client's local table: the visible columns of `bench.items` in SQLite types. */
const LOCAL_DDL = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  id TEXT PRIMARY KEY NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  qty INTEGER NOT NULL,
  price TEXT NOT NULL,
  done INTEGER NOT NULL,
  updated_at TEXT NOT NULL
)`;
const LOCAL_INSERT = `INSERT INTO ${TABLE}(id, title, body, qty, price, done, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`;
const TABLES = [{ tableName: TABLE, syncKeyColumnName: 'id' }] as const;

const rowsPerSec = (rows: number, elapsedMs: number) => (rows / elapsedMs) * 1000;
const best = (values: readonly number[]) => Math.min(...values);
let fileCounter = 0;
const freshFile = (name: string) => join(scratch, `${++fileCounter}-${name}.db`);

// ---------------------------------------------------------------------------------------
// Server (in-process, real HTTP on loopback)

interface Backend {
  kind: 'postgres' | 'pglite';
  version: string;
  db: SyncDatabase;
  analyze(): Promise<void>;
  dispose(): Promise<void>;
}

async function pgReachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let dropDatabase: (() => Promise<void>) | undefined;

async function openBackend(): Promise<Backend> {
  const adminUrl = cfg.pgUrl ?? DEFAULT_PG_URL;
  const usePg = !cfg.forcePglite && (cfg.pgUrl !== undefined || (await pgReachable(adminUrl)));
  if (usePg) {
    const dbName = `oversync_cbench_${randomBytes(5).toString('hex')}`;
    log(`PostgreSQL: creating database ${dbName}`);
    await adminQuery(adminUrl, `CREATE DATABASE ${dbName}`);
    dropDatabase = () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    const db = createPgDatabase({ connectionString: url.toString(), max: 4 });
    const version =
      (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ??
      '?';
    return {
      kind: 'postgres',
      version: `PostgreSQL ${version}`,
      db,
      analyze: async () => {
        await db.query('ANALYZE');
      },
      dispose: async () => {
        await db.close().catch(() => undefined);
        log(`dropping database ${dbName}`);
        await dropDatabase?.();
        dropDatabase = undefined;
      },
    };
  }
  log('PostgreSQL not reachable (or BENCH_BACKEND=pglite): using embedded PGlite in memory');
  const pglite = await PGlite.create();
  const db = createPgliteDatabase(pglite);
  const version =
    (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ??
    '?';
  return {
    kind: 'pglite',
    version: `PGlite (PostgreSQL ${version})`,
    db,
    analyze: async () => {
      await db.query('ANALYZE');
    },
    dispose: async () => {
      await db.close().catch(() => undefined);
      if (!pglite.closed) await pglite.close();
    },
  };
}

async function listenOn(service: SyncService): Promise<{ url: string; server: Server }> {
  const server = createServer(toNodeListener((request) => service.fetch(request)));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

async function seedUser(service: SyncService, user: string, rows: readonly BenchRow[]) {
  const sql = `INSERT INTO ${SCHEMA}.${TABLE}
    (_sync_scope_id, id, title, body, qty, price, done, updated_at)
    SELECT $1, u.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int8[], $6::numeric[], $7::bool[], $8::timestamptz[])
      AS u(id, title, body, qty, price, done, updated_at)`;
  for (let start = 0; start < rows.length; start += cfg.seedBundleRows) {
    const batch = rows.slice(start, start + cfg.seedBundleRows);
    await service.scopeManager.execWrite(user, { writerId: 'client-bench-seed' }, (tx) =>
      tx.query(sql, [user, ...rawColumns(batch)]),
    );
  }
}

// ---------------------------------------------------------------------------------------
// (a) hydration

interface Hydration {
  rows: number;
  totalMs: number;
  /** POST /sync/snapshot-sessions until its response headers (server materialises the rows). */
  createMs: number;
  /** Sum of GET snapshot chunk requests until their response headers. */
  chunkRequestMs: number;
  /** attach start → last `snapshot` progress event (capabilities, connect, create, chunks, staging). */
  downloadMs: number;
  /** last `snapshot` event → last `apply_snapshot` event (stage → app table + row state). */
  applyMs: number;
  /** last `apply_snapshot` event → attach resolved (commit, snapshot session delete). */
  commitMs: number;
  chunks: number;
  /** The hydrated database file (kept until the end of the run). */
  filename: string;
}

type Limits = OversyncClientOptions['limits'];

async function hydrate(baseUrl: string, user: string, limits?: Limits): Promise<Hydration> {
  const filename = freshFile(`hydrate-${user}`);
  const setup = new Database(filename);
  setup.exec(LOCAL_DDL);
  setup.close();
  const driver = createBetterSqlite3Driver({ filename });
  const timing = { createMs: 0, chunkRequestMs: 0, chunks: 0 };
  const traceT0 = performance.now();
  const timedFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const t0 = performance.now();
    const response = await fetch(request);
    const elapsed = performance.now() - t0;
    if (process.env.BENCH_TRACE === '1') {
      log(
        `${ms(t0 - traceT0)} ms: ${request.method} ${path} → ${response.status} in ${ms(elapsed)} ms`,
      );
    }
    if (request.method === 'POST' && path.endsWith('/sync/snapshot-sessions')) {
      timing.createMs += elapsed;
    } else if (request.method === 'GET' && path.includes('/sync/snapshot-sessions/')) {
      timing.chunkRequestMs += elapsed;
      timing.chunks++;
    }
    return response;
  };
  const client = createOversyncClient({
    driver,
    baseUrl,
    getToken: () => user,
    schema: SCHEMA,
    tables: TABLES,
    fetch: timedFetch,
    ...(limits ? { limits } : {}),
  });
  let lastSnapshot = 0;
  let lastApply = 0;
  client.on('progress', (event: ProgressEvent) => {
    if (event.operation === 'snapshot') lastSnapshot = performance.now();
    if (event.operation === 'apply_snapshot') lastApply = performance.now();
  });
  try {
    await client.open();
    const t0 = performance.now();
    const result = await client.attach(user);
    const t1 = performance.now();
    if (result.status !== 'connected' || result.outcome !== 'used_remote_state') {
      throw new Error(`attach: expected used_remote_state, got ${JSON.stringify(result)}`);
    }
    const count = await driver.get<{ n: number }>(`SELECT count(*) AS n FROM ${TABLE}`);
    const rows = Number(count?.n ?? 0);
    if (rows !== (result.restore?.rowCount ?? -1)) {
      throw new Error(`hydrated ${rows} rows, snapshot said ${result.restore?.rowCount}`);
    }
    return {
      rows,
      totalMs: t1 - t0,
      createMs: timing.createMs,
      chunkRequestMs: timing.chunkRequestMs,
      downloadMs: lastSnapshot - t0,
      applyMs: lastApply - lastSnapshot,
      commitMs: t1 - lastApply,
      chunks: timing.chunks,
      filename,
    };
  } finally {
    await client.close();
    await driver.close();
  }
}

/** The hydrated rows as the client stored them (bind values for the raw baselines). */
function readLocalRows(filename: string): SqlValue[][] {
  const db = new Database(filename, { readonly: true });
  try {
    return db
      .prepare(`SELECT id, title, body, qty, price, done, updated_at FROM ${TABLE} ORDER BY rowid`)
      .raw()
      .all() as SqlValue[][];
  } finally {
    db.close();
  }
}

/** Raw better-sqlite3: one transaction, prepared INSERT, committed in `batch`-row slices. */
function rawInsert(rows: readonly SqlValue[][], batch: number): number {
  const db = new Database(freshFile('raw'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec(LOCAL_DDL);
    const stmt = db.prepare(LOCAL_INSERT);
    const t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (let start = 0; start < rows.length; start += batch) {
      const end = Math.min(rows.length, start + batch);
      for (let i = start; i < end; i++) stmt.run(rows[i] as SqlValue[]);
    }
    db.exec('COMMIT');
    return performance.now() - t0;
  } finally {
    db.close();
  }
}

/** The same through the async driver (`runBatch` per 500 rows in one transaction). */
async function driverInsert(rows: readonly SqlValue[][], batch: number): Promise<number> {
  const filename = freshFile('driver');
  const driver = createBetterSqlite3Driver({ filename });
  try {
    await driver.exec(LOCAL_DDL);
    const t0 = performance.now();
    await driver.transaction(async (tx) => {
      for (let start = 0; start < rows.length; start += batch) {
        await tx.runBatch(LOCAL_INSERT, rows.slice(start, start + batch));
      }
    });
    return performance.now() - t0;
  } finally {
    await driver.close();
  }
}

// ---------------------------------------------------------------------------------------
// (b) capture-trigger overhead

/** A database file with the local table; `managed` = opened once by a client (triggers, anonymous). */
async function triggerDb(managed: boolean): Promise<string> {
  const filename = freshFile(managed ? 'managed' : 'plain');
  const setup = new Database(filename);
  setup.pragma('journal_mode = WAL');
  setup.exec(LOCAL_DDL);
  setup.close();
  if (managed) {
    const driver = createBetterSqlite3Driver({ filename });
    const client = createOversyncClient({
      driver,
      baseUrl: 'http://127.0.0.1:9', // never contacted: the client stays anonymous
      schema: SCHEMA,
      tables: TABLES,
    });
    await client.open();
    await client.close();
    await driver.close();
  }
  return filename;
}

function triggerCount(filename: string): number {
  const db = new Database(filename, { readonly: true });
  try {
    const row = db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?")
      .get(TABLE) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

interface TriggerRun {
  insertTxnMs: number;
  updateTxnMs: number;
  autocommitMs: number;
}

/** Inserts N rows in one transaction, updates them all, then autocommit inserts. */
function writeWorkload(
  filename: string,
  rows: readonly SqlValue[][],
  autocommitRows: readonly SqlValue[][],
): TriggerRun {
  const db = new Database(filename);
  try {
    db.pragma('foreign_keys = ON');
    const insert = db.prepare(LOCAL_INSERT);
    const update = db.prepare(`UPDATE ${TABLE} SET done = 1 - done, qty = qty + 1 WHERE id = ?`);
    let t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) insert.run(row);
    db.exec('COMMIT');
    const insertTxnMs = performance.now() - t0;
    t0 = performance.now();
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) update.run(row[0]);
    db.exec('COMMIT');
    const updateTxnMs = performance.now() - t0;
    t0 = performance.now();
    for (const row of autocommitRows) insert.run(row);
    const autocommitMs = performance.now() - t0;
    return { insertTxnMs, updateTxnMs, autocommitMs };
  } finally {
    db.close();
  }
}

function localRowsOf(rows: readonly BenchRow[]): SqlValue[][] {
  return rows.map((r) => [
    r.id,
    r.title,
    r.body,
    Number(r.qty),
    r.price,
    r.done ? 1 : 0,
    r.updatedAt,
  ]);
}

// ---------------------------------------------------------------------------------------

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? '?',
    cores: cpus.length,
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

const ratio = (x: number) => `${x.toFixed(2)}×`;
const yesNo = (met: boolean) => (met ? '**met**' : '**not met**');

async function main(): Promise<void> {
  const machine = machineInfo();
  const sqlite = sqliteVersion();
  const backend = await openBackend();
  let service: SyncService | undefined;
  let server: Server | undefined;
  try {
    await backend.db.exec(`CREATE SCHEMA ${SCHEMA}`);
    await backend.db.exec(tableDdl(TABLE));
    service = createSyncService({
      db: backend.db,
      tables: [{ schema: SCHEMA, table: TABLE, syncKeyColumn: 'id' }],
      authenticate: (r) => {
        const a = r.headers.get('authorization');
        return a?.startsWith('Bearer ') ? { userId: a.slice(7) } : null;
      },
      watch: { enabled: false },
      retention: { pruneIntervalMs: 0 },
    });
    await service.bootstrap();
    const listening = await listenOn(service);
    server = listening.server;
    const baseUrl = listening.url;

    // ---- seed (untimed)
    const rand = prng(20261125);
    const user = 'hydrate-user';
    const warmUser = 'warm-user';
    const rows = makeRows(rand, cfg.hydrateRows, 0);
    const avgPayload =
      rows.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(payloadOf(r))), 0) / rows.length;
    log(`seeding ${int(rows.length)} rows (${cfg.seedBundleRows} per bundle) + warm-up user`);
    const seedT0 = performance.now();
    await seedUser(service, user, rows);
    const seedMs = performance.now() - seedT0;
    await seedUser(service, warmUser, makeRows(rand, 5_000, 0));
    await backend.analyze();

    // ---- warm-up: every code path once
    log('warm-up hydration');
    await hydrate(baseUrl, warmUser);

    // ---- (a) hydration, default limits and the largest chunks the server allows
    const runs: Hydration[] = [];
    for (let i = 0; i < cfg.hydrateRepeats; i++) {
      log(`hydration ${i + 1}/${cfg.hydrateRepeats} (default limits)`);
      runs.push(await hydrate(baseUrl, user));
    }
    let tunedRun: Hydration | undefined;
    if (cfg.tuned) {
      log('hydration with 4000-row chunks and 2000-row apply batches');
      tunedRun = await hydrate(baseUrl, user, {
        snapshotChunkRows: 4000,
        snapshotApplyBatchRows: 2000,
      });
    }
    const localRows = localRowsOf(rows);
    log('raw better-sqlite3 and driver baselines');
    const rawMs: number[] = [];
    const driverMs: number[] = [];
    for (let i = 0; i < cfg.repeats; i++) {
      rawMs.push(rawInsert(localRows, 500));
      driverMs.push(await driverInsert(localRows, 500));
    }
    // Same values as the client stored them (server-rendered timestamps and decimals).
    const stored = readLocalRows((runs[0] as Hydration).filename);
    const rawStoredMs = rawInsert(stored.length === rows.length ? stored : localRows, 500);

    // ---- (b) trigger overhead
    log(`trigger overhead: ${int(cfg.triggerRows)} rows × ${cfg.repeats} repetitions`);
    const trigRows = localRowsOf(makeRows(rand, cfg.triggerRows, 0));
    const autoRows = localRowsOf(makeRows(rand, cfg.autocommitRows, 0));
    const plain: TriggerRun[] = [];
    const managed: TriggerRun[] = [];
    let managedTriggers = 0;
    for (let i = 0; i < cfg.repeats; i++) {
      plain.push(writeWorkload(await triggerDb(false), trigRows, autoRows));
      const managedFile = await triggerDb(true);
      managedTriggers = triggerCount(managedFile);
      managed.push(writeWorkload(managedFile, trigRows, autoRows));
    }

    // ---- report
    const pick = (list: Hydration[]) =>
      list.reduce((a, b) => (a.totalMs <= b.totalMs ? a : b)) as Hydration;
    const h = pick(runs);
    const ht = tunedRun;
    const endToEnd = rowsPerSec(h.rows, h.totalMs);
    const endToEndTuned = ht ? rowsPerSec(ht.rows, ht.totalMs) : 0;
    const applyRate = rowsPerSec(h.rows, h.applyMs);
    const rawRate = rowsPerSec(rows.length, best(rawMs));
    const n = cfg.triggerRows;
    const us = (totalMs: number, count: number) => `${((totalMs / count) * 1000).toFixed(1)} µs`;
    const insertRatio =
      best(managed.map((r) => r.insertTxnMs)) / best(plain.map((r) => r.insertTxnMs));
    const updateRatio =
      best(managed.map((r) => r.updateTxnMs)) / best(plain.map((r) => r.updateTxnMs));
    const autoRatio =
      best(managed.map((r) => r.autocommitMs)) / best(plain.map((r) => r.autocommitMs));
    const hydrationMet = Math.max(endToEnd, endToEndTuned) >= TARGET_HYDRATE_ROWS_PER_S;
    const triggerMet = insertRatio <= TARGET_TRIGGER_RATIO;

    const hydrationTable = markdownTable(
      ['hydration of a fresh database', 'rows/s', 'time', 'time vs raw insert'],
      [
        [
          `**end to end**, default limits (attach → \`used_remote_state\`, ${h.chunks} chunks)`,
          `**${int(endToEnd)}**`,
          `${ms(h.totalMs)} ms (all runs: ${runs.map((r) => ms(r.totalMs)).join(', ')})`,
          ratio(rawRate / endToEnd),
        ],
        [
          '↳ server: snapshot create (materialise), request time',
          int(rowsPerSec(h.rows, h.createMs)),
          `${ms(h.createMs)} ms`,
          '',
        ],
        [
          `↳ server: ${h.chunks} chunk requests (time to response headers)`,
          int(rowsPerSec(h.rows, h.chunkRequestMs)),
          `${ms(h.chunkRequestMs)} ms`,
          '',
        ],
        [
          '↳ download + validate + stage (attach start → last `snapshot` progress)',
          int(rowsPerSec(h.rows, h.downloadMs)),
          `${ms(h.downloadMs)} ms`,
          '',
        ],
        [
          '↳ **local apply** (last `snapshot` → last `apply_snapshot` progress)',
          `**${int(applyRate)}**`,
          `${ms(h.applyMs)} ms`,
          ratio(rawRate / applyRate),
        ],
        ['↳ commit + session delete', '', `${ms(h.commitMs)} ms`, ''],
        ...(ht
          ? [
              [
                `end to end, 4000-row chunks + 2000-row apply batches (${ht.chunks} chunks, 1 run)`,
                int(endToEndTuned),
                `${ms(ht.totalMs)} ms`,
                ratio(rawRate / endToEndTuned),
              ],
              [
                '↳ download + validate + stage',
                int(rowsPerSec(ht.rows, ht.downloadMs)),
                `${ms(ht.downloadMs)} ms`,
                '',
              ],
              [
                '↳ local apply',
                int(rowsPerSec(ht.rows, ht.applyMs)),
                `${ms(ht.applyMs)} ms`,
                ratio(rawRate / rowsPerSec(ht.rows, ht.applyMs)),
              ],
            ]
          : []),
        [
          '**raw better-sqlite3** insert, same rows, one transaction, prepared statement',
          `**${int(rawRate)}**`,
          `${ms(best(rawMs))} ms`,
          '1.00×',
        ],
        [
          '↳ same, the values exactly as the client stored them',
          int(rowsPerSec(rows.length, rawStoredMs)),
          `${ms(rawStoredMs)} ms`,
          '',
        ],
        [
          'driver `runBatch` (500 rows) in one `transaction`, same rows',
          int(rowsPerSec(rows.length, best(driverMs))),
          `${ms(best(driverMs))} ms`,
          ratio(best(driverMs) / best(rawMs)),
        ],
      ],
    );
    const triggerTable = markdownTable(
      ['local writes (better-sqlite3, WAL)', 'plain table', 'managed table (triggers)', 'ratio'],
      [
        [
          `**${int(n)} INSERTs in one transaction**`,
          us(best(plain.map((r) => r.insertTxnMs)), n),
          us(best(managed.map((r) => r.insertTxnMs)), n),
          `**${ratio(insertRatio)}**`,
        ],
        [
          `${int(n)} UPDATEs in one transaction (rows already dirty)`,
          us(best(plain.map((r) => r.updateTxnMs)), n),
          us(best(managed.map((r) => r.updateTxnMs)), n),
          ratio(updateRatio),
        ],
        [
          `${int(cfg.autocommitRows)} INSERTs, one transaction each (fsync per commit)`,
          us(best(plain.map((r) => r.autocommitMs)), cfg.autocommitRows),
          us(best(managed.map((r) => r.autocommitMs)), cfg.autocommitRows),
          ratio(autoRatio),
        ],
      ],
    );
    const targetsTable = markdownTable(
      ['target', 'measured', 'result'],
      [
        [
          `hydration ≥ ${int(TARGET_HYDRATE_ROWS_PER_S)} rows/s end to end`,
          `${int(endToEnd)} rows/s${ht ? ` (default limits), ${int(endToEndTuned)} rows/s (4000-row chunks)` : ''}`,
          yesNo(hydrationMet),
        ],
        [
          `capture-trigger overhead ≤ ${TARGET_TRIGGER_RATIO}× (INSERTs in a transaction)`,
          ratio(insertRatio),
          yesNo(triggerMet),
        ],
      ],
    );
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const environment = [
      `- date: ${date}`,
      `- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, ${machine.os}`,
      `- Node ${process.version}, SQLite ${sqlite} (better-sqlite3), server on ${backend.version} (in-process, HTTP on loopback)`,
      `- ${int(rows.length)} rows of \`${SCHEMA}.${TABLE}\`, canonical payload ≈ ${Math.round(avgPayload)} B per row; seeded server-side in ${Math.ceil(rows.length / cfg.seedBundleRows)} bundles (\`scopeManager.execWrite\`, ${int(rowsPerSec(rows.length, seedMs))} rows/s, untimed); hydration: best of ${cfg.hydrateRepeats}, baselines: best of ${cfg.repeats}`,
      `- trigger overhead: ${int(n)} rows, ${managedTriggers} triggers on the managed table, best of ${cfg.repeats}`,
    ].join('\n');
    const report = `${environment}\n\n${hydrationTable}\n\n${triggerTable}\n\n${targetsTable}\n`;
    console.log(`\n${report}`);

    if (cfg.jsonOut) {
      writeFileSync(
        cfg.jsonOut,
        JSON.stringify(
          {
            date,
            machine,
            node: process.version,
            sqlite,
            server: backend.version,
            cfg: { ...cfg, pgUrl: undefined },
            avgPayload,
            hydration: runs,
            hydrationTuned: tunedRun,
            rawMs,
            rawStoredMs,
            driverMs,
            trigger: { plain, managed, insertRatio, updateRatio, autoRatio },
          },
          null,
          2,
        ),
      );
    }
    if (cfg.writeDocs) {
      writeDocs(report);
      log(`results written to ${DOCS}`);
    }
  } finally {
    await new Promise<void>((done) => {
      if (!server) return done();
      server.close(() => done());
      server.closeAllConnections();
    });
    await service?.close().catch(() => undefined);
    await backend.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

const BEGIN = '<!-- client-bench:results:begin -->';
const END = '<!-- client-bench:results:end -->';

/** Replaces the marked results block of docs/benchmarks.md (the rest of the file is untouched). */
function writeDocs(report: string): void {
  const text = readFileSync(DOCS, 'utf8');
  const block = `${BEGIN}\n${report}${END}`;
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start >= 0 && end > start) {
    writeFileSync(DOCS, text.slice(0, start) + block + text.slice(end + END.length));
    return;
  }
  writeFileSync(
    DOCS,
    `${text.trimEnd()}\n\n---\n\n# Client\n\nMeasured by \`npm run bench:client\`.\n\n${block}\n`,
  );
}

process.on('SIGINT', () => {
  log('interrupted');
  void (dropDatabase?.() ?? Promise.resolve())
    .catch(() => undefined)
    .finally(() => {
      rmSync(scratch, { recursive: true, force: true });
      process.exit(130);
    });
});

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
