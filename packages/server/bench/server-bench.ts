/**
 * oversync server benchmark: realistic G2 traffic through `service.fetch` against a raw
 * PostgreSQL baseline on the same kind of table, in the same run.
 *
 *   npm run bench:server
 *
 * Environment:
 *   OVERSYNC_BENCH_PG_URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres);
 *                          a database oversync_bench_<random> is created there and dropped at the end
 *   BENCH_BUNDLES          bundles per device in the push phase (default 20)
 *   BENCH_ROWS             rows per bundle (default 100)
 *   BENCH_DEVICES          concurrent devices / raw clients (default 10)
 *   BENCH_SNAPSHOT_ROWS    rows of the snapshot user (default 20000)
 *   BENCH_REPEATS          repetitions of each pull / select / snapshot measurement (default 3)
 *   BENCH_POOL             service pool size (default = BENCH_DEVICES)
 *   BENCH_ANALYZE=0        skip the explicit ANALYZE after warm-up and after seeding (by
 *                          default it runs, standing in for autovacuum, which may be off)
 *   BENCH_PROFILE=1        also print a per-statement profile of a serial push and
 *                          EXPLAIN ANALYZE of one commit (written to BENCH_EXPLAIN_OUT)
 *   BENCH_CPUPROF=push     V8 CPU profile of one phase (push, pull or snapshot; `1` = push):
 *                          summary printed, profile written to /tmp/oversync-bench-<phase>.cpuprofile
 *                          (profiling slows Node down a little)
 *   BENCH_FLOOR=1          also measure lib/floor.ts: a prototype of the push path's database work
 *                          with one round trip per request (a lower bound, not the server)
 *   BENCH_JSON_OUT         write the raw results as JSON to this file
 *   BENCH_EXPERIMENTS      comma-separated statement rewrites emulating proposed server fixes
 *                          (see lib/experiments.ts); off by default, and printed when on
 *   BENCH_KEEP_DB=1        keep the database at the end (for investigating plans by hand)
 *
 * See docs/benchmarks.md for what each number means.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { bundleHashInputFromCanonicalPayloads, sha256Hex } from '@oversync/protocol';
import { createPgDatabase, createSyncService, type SyncService } from '@oversync/server';
import pg from 'pg';
import { PhaseProfiler, summarise } from './lib/cpu-profile.js';
import { envInt } from './lib/env.js';
import { selectExperiments } from './lib/experiments.js';
import { FLOOR_SQL, floorPushAll } from './lib/floor.js';
import { enablePhaseTracking, inPhase, instrument, StatementRecorder } from './lib/instrument.js';
import { pgCpuDelta, pgCpuSample } from './lib/pg-cpu.js';
import { createPreparedPgDatabase } from './lib/prepared-db.js';
import {
  type CpuDelta,
  cpuDelta,
  cpuSample,
  int,
  markdownTable,
  median,
  ms,
  pct,
  quantile,
} from './lib/stats.js';
import {
  type BenchRow,
  makeRows,
  type PreparedBundle,
  prepareBundle,
  prng,
  RAW_INSERT_SQL,
  RAW_SELECT_SQL,
  RAW_TABLE,
  rawColumns,
  SCHEMA,
  TABLE,
  tableDdl,
} from './lib/workload.js';

const cfg = {
  adminUrl: process.env.OVERSYNC_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  devices: envInt('BENCH_DEVICES', 10),
  bundles: envInt('BENCH_BUNDLES', 20),
  rows: envInt('BENCH_ROWS', 100),
  snapshotRows: envInt('BENCH_SNAPSHOT_ROWS', 20_000),
  repeats: envInt('BENCH_REPEATS', 3),
  pool: envInt('BENCH_POOL', envInt('BENCH_DEVICES', 10)),
  analyze: process.env.BENCH_ANALYZE !== '0',
  profile: process.env.BENCH_PROFILE === '1',
  /** Phase to CPU-profile: push (also `1`), pull or snapshot. */
  floor: process.env.BENCH_FLOOR === '1',
  cpuProfile: process.env.BENCH_CPUPROF === '1' ? 'push' : (process.env.BENCH_CPUPROF ?? ''),
  explainOut: process.env.BENCH_EXPLAIN_OUT ?? '/tmp/oversync-bench-explain.txt',
  jsonOut: process.env.BENCH_JSON_OUT,
  keepDb: process.env.BENCH_KEEP_DB === '1',
  experiments: selectExperiments(process.env.BENCH_EXPERIMENTS),
};
const WARMUP_BUNDLES = 3;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

// ---------------------------------------------------------------------------------------
// Database lifecycle

const dbName = `oversync_bench_${randomBytes(5).toString('hex')}`;
const benchUrl = (() => {
  const u = new URL(cfg.adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: cfg.adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------
// The G2 client side (in-process, through service.fetch)

interface Timings {
  create: number[];
  chunk: number[];
  commit: number[];
  bundle: number[];
}

const newTimings = (): Timings => ({ create: [], chunk: [], commit: [], bundle: [] });

class Client {
  constructor(
    readonly service: SyncService,
    readonly rec: StatementRecorder,
  ) {}

  async call(
    phase: string,
    user: string,
    method: string,
    path: string,
    body?: string,
  ): Promise<{ text: string; elapsed: number }> {
    const t0 = performance.now();
    const res = await inPhase(phase, () =>
      this.service.fetch(
        new Request(`http://bench.local${path}`, {
          method,
          headers: {
            authorization: `Bearer ${user}`,
            'oversync-source-id': `${user}-device`,
            'content-type': 'application/json',
          },
          body,
        }),
      ),
    );
    const text = await res.text();
    const elapsed = performance.now() - t0;
    this.rec.addRequest(phase, elapsed);
    if (res.status < 200 || res.status > 299) {
      throw new Error(`${method} ${path} for ${user} → ${res.status}: ${text.slice(0, 400)}`);
    }
    return { text, elapsed };
  }

  async connectEmpty(user: string): Promise<void> {
    const { text } = await this.call(
      'connect',
      user,
      'POST',
      '/sync/connect',
      '{"has_local_pending_rows":false}',
    );
    const r = JSON.parse(text) as { resolution: string };
    if (r.resolution !== 'initialize_empty' && r.resolution !== 'remote_authoritative') {
      throw new Error(`unexpected connect resolution ${r.resolution}`);
    }
  }

  /** create → one chunk → commit, for each bundle in order. */
  async pushAll(user: string, bundles: readonly PreparedBundle[], t: Timings): Promise<void> {
    for (const b of bundles) {
      const t0 = performance.now();
      const created = await this.call('create', user, 'POST', '/sync/push-sessions', b.createBody);
      const pushId = (JSON.parse(created.text) as { push_id: string }).push_id;
      const chunk = await this.call(
        'chunk',
        user,
        'POST',
        `/sync/push-sessions/${pushId}/chunks`,
        b.chunkBody,
      );
      const commit = await this.call(
        'commit',
        user,
        'POST',
        `/sync/push-sessions/${pushId}/commit`,
      );
      const committed = JSON.parse(commit.text) as { row_count: number };
      if (committed.row_count !== b.rows.length)
        throw new Error(`commit reported ${committed.row_count} rows`);
      t.create.push(created.elapsed);
      t.chunk.push(chunk.elapsed);
      t.commit.push(commit.elapsed);
      t.bundle.push(performance.now() - t0);
    }
  }

  /** A fresh pull from 0, following has_more under the frozen target. Returns rows received. */
  async pullAll(user: string): Promise<{ rows: number; bundles: number; pages: number }> {
    let after = '0';
    let target: string | undefined;
    let rows = 0;
    let bundles = 0;
    let pages = 0;
    for (;;) {
      const q = `after_bundle_seq=${after}${target ? `&target_bundle_seq=${target}` : ''}`;
      const { text } = await this.call('pull', user, 'GET', `/sync/pull?${q}`);
      const page = JSON.parse(text) as {
        stable_bundle_seq: number;
        bundles: { bundle_seq: number; rows: unknown[] }[];
        has_more: boolean;
      };
      pages++;
      target ??= String(page.stable_bundle_seq);
      for (const b of page.bundles) {
        rows += b.rows.length;
        bundles++;
        after = String(b.bundle_seq);
      }
      if (!page.has_more) break;
    }
    return { rows, bundles, pages };
  }

  /** Snapshot session create + every chunk (default chunk size), then delete. */
  async snapshot(
    user: string,
  ): Promise<{ rows: number; chunks: number; createMs: number; chunksMs: number }> {
    const t0 = performance.now();
    const created = await this.call('snapshot-create', user, 'POST', '/sync/snapshot-sessions');
    const createMs = performance.now() - t0;
    const session = JSON.parse(created.text) as { snapshot_id: string; row_count: number };
    const t1 = performance.now();
    let after = 0;
    let rows = 0;
    let chunks = 0;
    for (;;) {
      const { text } = await this.call(
        'snapshot-chunk',
        user,
        'GET',
        `/sync/snapshot-sessions/${session.snapshot_id}?after_row_ordinal=${after}`,
      );
      const page = JSON.parse(text) as {
        rows: unknown[];
        next_row_ordinal: number;
        has_more: boolean;
      };
      rows += page.rows.length;
      chunks++;
      after = page.next_row_ordinal;
      if (!page.has_more) break;
    }
    const chunksMs = performance.now() - t1;
    await this.call(
      'snapshot-delete',
      user,
      'DELETE',
      `/sync/snapshot-sessions/${session.snapshot_id}`,
    );
    if (rows !== session.row_count)
      throw new Error(`snapshot returned ${rows} of ${session.row_count} rows`);
    return { rows, chunks, createMs, chunksMs };
  }
}

// ---------------------------------------------------------------------------------------
// Raw PostgreSQL baseline

async function rawInsertAll(
  pool: pg.Pool,
  scope: string,
  bundles: readonly BenchRow[][],
  lat?: number[],
): Promise<void> {
  for (const rows of bundles) {
    const t0 = performance.now();
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(RAW_INSERT_SQL, [scope, ...rawColumns(rows)]);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
    lat?.push(performance.now() - t0);
  }
}

async function rawSelect(pool: pg.Pool, scope: string): Promise<number> {
  const res = await pool.query(RAW_SELECT_SQL, [scope]);
  return res.rowCount ?? res.rows.length;
}

// ---------------------------------------------------------------------------------------
// Helpers

/** Client used only to find the PostgreSQL processes whose CPU time is sampled. */
let cpuProbe: pg.Client | undefined;

interface PhaseCpu extends CpuDelta {
  /** CPU ms of this database's PostgreSQL backends + WAL writer/checkpointer/bgwriter. */
  pgMs: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpu: PhaseCpu }> {
  const pa = cpuProbe ? await pgCpuSample(cpuProbe) : undefined;
  const a = cpuSample();
  const value = await fn();
  const b = cpuSample();
  const pb = cpuProbe ? await pgCpuSample(cpuProbe) : undefined;
  const pgMs = pa && pb ? pgCpuDelta(pa, pb) : Number.NaN;
  return { value, ms: b.at - a.at, cpu: { ...cpuDelta(a, b), pgMs } };
}

async function repeat<T>(n: number, fn: () => Promise<T>): Promise<{ values: T[]; ms: number[] }> {
  const values: T[] = [];
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    values.push(await fn());
    times.push(performance.now() - t0);
  }
  return { values, ms: times };
}

function rowsPerSec(rows: number, elapsedMs: number): number {
  return (rows / elapsedMs) * 1000;
}

function printStatementProfile(
  rec: StatementRecorder,
  title: string,
  phases: readonly string[],
  divideBy: number,
  unit = 'bundle',
): void {
  console.log(`\n#### ${title}\n`);
  const rows: string[][] = [];
  for (const phase of phases) {
    const req = rec.requests.get(phase);
    const stmts = [...(rec.byPhase.get(phase) ?? new Map()).entries()].sort(
      (a, b) => b[1].ms - a[1].ms,
    );
    const dbMs = stmts.reduce((s, [, b]) => s + b.ms, 0);
    if (req) {
      rows.push([`**${phase}** (request total)`, int(req.count), ms(req.ms / divideBy), '']);
    }
    for (const [label, b] of stmts) {
      rows.push([
        `${phase}: \`${label.replaceAll('|', '\\|')}\``,
        int(b.count),
        ms(b.ms / divideBy),
        req ? pct(b.ms / req.ms) : '',
      ]);
    }
    if (req) {
      rows.push([
        `${phase}: (outside SQL: JS parse/validate/hash/render)`,
        '',
        ms((req.ms - dbMs) / divideBy),
        pct((req.ms - dbMs) / req.ms),
      ]);
    }
  }
  console.log(markdownTable(['statement', 'calls', `ms per ${unit}`, 'share of request'], rows));
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  log(`creating database ${dbName}`);
  await adminQuery(`CREATE DATABASE ${dbName}`);
  let service: SyncService | undefined;
  let closeDb: (() => Promise<void>) | undefined;
  let rawPool: pg.Pool | undefined;
  try {
    const setup = new pg.Client({ connectionString: benchUrl });
    setup.on('error', () => undefined);
    await setup.connect();
    await setup.query(`CREATE SCHEMA ${SCHEMA}`);
    await setup.query(tableDdl(TABLE));
    await setup.query(tableDdl(RAW_TABLE));
    if (cfg.floor) await setup.query(FLOOR_SQL);
    const pgVersion =
      (await setup.query<{ server_version: string }>('SHOW server_version')).rows[0]
        ?.server_version ?? '?';
    const autovacuum =
      (await setup.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]?.autovacuum ?? '?';
    cpuProbe = setup;

    const rec = new StatementRecorder();
    rec.experiments = cfg.experiments;
    const baseDb = cfg.experiments.some((e) => e.name === 'prepared')
      ? createPreparedPgDatabase(benchUrl, cfg.pool)
      : createPgDatabase({ connectionString: benchUrl, max: cfg.pool });
    closeDb = () => baseDb.close();
    // The timing wrapper only when profiling or rewriting; a plain run talks to the database directly.
    if (cfg.profile) enablePhaseTracking();
    const db = cfg.profile || cfg.experiments.length > 0 ? instrument(baseDb, rec) : baseDb;
    service = createSyncService({
      db,
      tables: [{ schema: SCHEMA, table: TABLE, syncKeyColumn: 'id' }],
      authenticate: (r) => {
        const a = r.headers.get('authorization');
        return a?.startsWith('Bearer ') ? { userId: a.slice(7) } : null;
      },
      watch: { enabled: false },
      retention: { pruneIntervalMs: 0 },
    });
    await service.bootstrap();
    rawPool = new pg.Pool({
      connectionString: benchUrl,
      max: cfg.devices,
      options: '-c TimeZone=UTC',
    });
    // Idle clients are terminated when an interrupted run drops the database; not an error.
    rawPool.on('error', () => undefined);
    const client = new Client(service, rec);

    // ---- data preparation (untimed: this is work a real client does on its own machine)
    log('preparing request bodies');
    const rand = prng(20260401);
    const prepareUser = async (nBundles: number) => {
      const bundles: PreparedBundle[] = [];
      for (let i = 0; i < nBundles; i++)
        bundles.push(await prepareBundle(makeRows(rand, cfg.rows, i * cfg.rows), i + 1));
      return bundles;
    };
    const users = Array.from({ length: cfg.devices }, (_, i) => `device-user-${i}`);
    const warmUsers = Array.from({ length: cfg.devices }, (_, i) => `warm-user-${i}`);
    const work = await Promise.all(users.map(() => prepareUser(cfg.bundles)));
    const warmWork = await Promise.all(warmUsers.map(() => prepareUser(WARMUP_BUNDLES)));
    const snapBundles = Math.ceil(cfg.snapshotRows / cfg.rows);
    const snapRows = Array.from({ length: snapBundles }, (_, i) =>
      makeRows(rand, Math.min(cfg.rows, cfg.snapshotRows - i * cfg.rows), i * cfg.rows),
    );
    const payloadBytes = work.flat().reduce((s, b) => s + b.payloadBytes, 0);
    const totalRows = cfg.devices * cfg.bundles * cfg.rows;
    const avgPayload = payloadBytes / totalRows;
    const chunkBytes = median(work.flat().map((b) => Buffer.byteLength(b.chunkBody)));

    // ---- warm-up: every code path once, on other users / scopes
    log('warm-up');
    await Promise.all(warmUsers.map((u) => client.connectEmpty(u)));
    await Promise.all(
      warmUsers.map((u, i) => client.pushAll(u, warmWork[i] as PreparedBundle[], newTimings())),
    );
    await Promise.all(
      warmUsers.map((u, i) =>
        rawInsertAll(
          rawPool as pg.Pool,
          u,
          (warmWork[i] as PreparedBundle[]).map((b) => b.rows),
        ),
      ),
    );
    await client.pullAll(warmUsers[0] as string);
    await rawSelect(rawPool, warmUsers[0] as string);
    await client.snapshot(warmUsers[0] as string);

    const checkpoint = () => rawPool?.query('CHECKPOINT');
    // Why: planner statistics as autovacuum would keep them; without any, PostgreSQL guesses.
    const analyze = async () => {
      if (cfg.analyze) await rawPool?.query('ANALYZE');
    };
    await analyze();

    // ---- raw insert baseline
    log(`raw insert: ${cfg.devices} clients × ${cfg.bundles} transactions × ${cfg.rows} rows`);
    await checkpoint();
    const rawLat: number[] = [];
    const rawInsert = await timed(() =>
      Promise.all(
        users.map((u, i) =>
          rawInsertAll(
            rawPool as pg.Pool,
            u,
            (work[i] as PreparedBundle[]).map((b) => b.rows),
            rawLat,
          ),
        ),
      ),
    );

    // ---- push ingest
    log(`push ingest: ${cfg.devices} devices × ${cfg.bundles} bundles × ${cfg.rows} rows`);
    await Promise.all(users.map((u) => client.connectEmpty(u)));
    await checkpoint();
    const pushT = newTimings();
    rec.reset();
    rec.enabled = true;
    const profiled: { phase: string; profile: Awaited<ReturnType<PhaseProfiler['stop']>> }[] = [];
    const profilePhase = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
      if (cfg.cpuProfile !== phase) return fn();
      const profiler = new PhaseProfiler();
      await profiler.start();
      const value = await fn();
      profiled.push({
        phase,
        profile: await profiler.stop(`/tmp/oversync-bench-${phase}.cpuprofile`),
      });
      return value;
    };
    const push = await profilePhase('push', () =>
      timed(() =>
        Promise.all(users.map((u, i) => client.pushAll(u, work[i] as PreparedBundle[], pushT))),
      ),
    );
    rec.enabled = false;
    const concurrentProfile = { byPhase: new Map(rec.byPhase), requests: new Map(rec.requests) };

    // ---- optional: the database-side floor prototype (lib/floor.ts), same rows, same concurrency
    let floor: { ms: number; cpu: PhaseCpu; lat: number[] } | undefined;
    if (cfg.floor) {
      const floorUsers = users.map((u) => `floor-${u}`);
      const floorWarm = warmUsers.map((u) => `floor-${u}`);
      await Promise.all([...floorUsers, ...floorWarm].map((u) => client.connectEmpty(u)));
      await Promise.all(
        floorWarm.map((u, i) =>
          floorPushAll(rawPool as pg.Pool, u, warmWork[i] as PreparedBundle[], randomUUID, []),
        ),
      );
      await checkpoint();
      const lat: number[] = [];
      log(`floor prototype: ${cfg.devices} clients × ${cfg.bundles} bundles × ${cfg.rows} rows`);
      const r = await timed(() =>
        Promise.all(
          floorUsers.map((u, i) =>
            floorPushAll(rawPool as pg.Pool, u, work[i] as PreparedBundle[], randomUUID, lat),
          ),
        ),
      );
      floor = { ms: r.ms, cpu: r.cpu, lat };
      // Sanity: the prototype wrote a valid history — every bundle_hash it stored equals the
      // protocol library's hash over the stored canonical rows, and all rows are there.
      const { rows: stored } = await (rawPool as pg.Pool).query<{
        bundle_seq: string;
        bundle_hash: string;
        key: string;
        payload: string;
      }>(
        `SELECT bl.bundle_seq::text AS bundle_seq, bl.bundle_hash, br.key, br.payload
           FROM sync.bundle_log bl JOIN sync.user_state us USING (user_pk)
           JOIN sync.bundle_rows br USING (user_pk, bundle_seq)
          WHERE us.user_id = $1 ORDER BY bl.bundle_seq, br.row_ordinal`,
        [floorUsers[0]],
      );
      const bySeq = new Map<string, typeof stored>();
      for (const r of stored) bySeq.set(r.bundle_seq, [...(bySeq.get(r.bundle_seq) ?? []), r]);
      for (const [seq, rows] of bySeq) {
        const input = bundleHashInputFromCanonicalPayloads(
          rows.map((r) => ({
            schema: SCHEMA,
            table: TABLE,
            keyColumn: 'id',
            key: r.key,
            op: 'INSERT',
            rowVersion: seq,
            payloadJson: r.payload,
          })),
        );
        if ((await sha256Hex(input)) !== rows[0]?.bundle_hash) {
          throw new Error(`floor prototype: bundle ${seq} hash does not verify`);
        }
      }
      if (stored.length !== cfg.bundles * cfg.rows)
        throw new Error(`floor prototype: ${stored.length} rows stored`);
    }

    // ---- pull / select of one device user
    const pullUser = users[0] as string;
    log(`pull: ${pullUser} (${cfg.bundles} bundles)`);
    const pullSmall = await repeat(cfg.repeats, () => client.pullAll(pullUser));
    const selectSmall = await repeat(cfg.repeats, () => rawSelect(rawPool as pg.Pool, pullUser));

    // ---- snapshot user: seed with server-side bundles (execWrite), same rows into raw
    const snapUser = 'snapshot-user';
    log(`seeding ${snapUser}: ${snapBundles} execWrite bundles, ${cfg.snapshotRows} rows`);
    const seedLat: number[] = [];
    const seed = await timed(async () => {
      for (const rows of snapRows) {
        const t0 = performance.now();
        await inPhase('execWrite', () =>
          (service as SyncService).scopeManager.execWrite(
            snapUser,
            { writerId: 'bench-seed' },
            (tx) =>
              tx.query(RAW_INSERT_SQL.replace(`${SCHEMA}.${RAW_TABLE}`, `${SCHEMA}.${TABLE}`), [
                snapUser,
                ...rawColumns(rows),
              ]),
          ),
        );
        seedLat.push(performance.now() - t0);
      }
    });
    await rawInsertAll(rawPool, snapUser, snapRows);
    await client.connectEmpty(snapUser);
    await analyze();

    log(`pull: ${snapUser} (${snapBundles} bundles)`);
    rec.reset();
    rec.enabled = true;
    const pullBig = await profilePhase('pull', () =>
      repeat(cfg.repeats, () => client.pullAll(snapUser)),
    );
    rec.enabled = false;
    const selectBig = await repeat(cfg.repeats, () => rawSelect(rawPool as pg.Pool, snapUser));

    log(`snapshot: ${snapUser}`);
    rec.enabled = true;
    const snaps = await profilePhase('snapshot', () =>
      repeat(cfg.repeats, () => client.snapshot(snapUser)),
    );
    rec.enabled = false;
    const readProfile = { byPhase: new Map(rec.byPhase), requests: new Map(rec.requests) };

    // ---- results
    const rawRate = rowsPerSec(totalRows, rawInsert.ms);
    const pushRate = rowsPerSec(totalRows, push.ms);
    const best = (xs: number[]) => Math.min(...xs);
    const smallRows = pullSmall.values[0]?.rows ?? 0;
    const bigRows = pullBig.values[0]?.rows ?? 0;
    const pullSmallRate = rowsPerSec(smallRows, best(pullSmall.ms));
    const selectSmallRate = rowsPerSec(selectSmall.values[0] ?? 0, best(selectSmall.ms));
    const pullBigRate = rowsPerSec(bigRows, best(pullBig.ms));
    const selectBigRate = rowsPerSec(selectBig.values[0] ?? 0, best(selectBig.ms));
    const snapBest = snaps.values.reduce((a, b) =>
      a.createMs + a.chunksMs <= b.createMs + b.chunksMs ? a : b,
    );
    const snapTotalMs = snapBest.createMs + snapBest.chunksMs;

    const perK = (cpuMs: number) => (cpuMs / totalRows) * 1000;
    const cores = os.cpus().length;
    const cpuLine = (c: PhaseCpu) =>
      `${ms(perK(c.nodeMs))} / ${ms(perK(c.pgMs))} / ${ms(perK(c.machineBusyMs))} ms (machine ${pct(c.machineBusyMs / (c.wallMs * cores))} busy)`;
    const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;

    console.log(`### oversync server benchmark\n`);
    console.log(`- date: ${new Date().toISOString()}`);
    console.log(
      `- machine: ${machine} (load average at end ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')})`,
    );
    console.log(
      `- Node ${process.version}, PostgreSQL ${pgVersion} (default settings; autovacuum ${autovacuum}; explicit ANALYZE after warm-up and seeding: ${cfg.analyze ? 'yes' : 'no'})`,
    );
    console.log(
      `- workload: ${cfg.devices} devices × ${cfg.bundles} bundles × ${cfg.rows} INSERT rows; payload ${avgPayload.toFixed(0)} B/row canonical JSON, chunk body ${int(chunkBytes)} B; service pool ${cfg.pool}`,
    );
    if (cfg.experiments.length > 0) {
      console.log(
        `- **EXPERIMENTS ON** (statement rewrites, not the shipped server): ${cfg.experiments
          .map((e) =>
            e.name === 'prepared'
              ? e.name
              : `${e.name} (${rec.experimentHits.get(e.name) ?? 0} statements)`,
          )
          .join(', ')}`,
      );
    }
    console.log('');
    console.log(
      markdownTable(
        ['measurement', 'oversync', 'raw PostgreSQL', 'oversync / raw'],
        [
          [
            `push ingest (${cfg.devices} concurrent devices, ${int(totalRows)} rows)`,
            `**${int(pushRate)} rows/s**`,
            `${int(rawRate)} rows/s`,
            `**${pct(pushRate / rawRate)}** (target ≥ 25%)`,
          ],
          ...(floor
            ? [
                [
                  `floor prototype (lib/floor.ts — NOT the server; one round trip per request)`,
                  `${int(rowsPerSec(totalRows, floor.ms))} rows/s`,
                  `${int(rawRate)} rows/s`,
                  pct(rowsPerSec(totalRows, floor.ms) / rawRate),
                ],
              ]
            : []),
          [
            'commit latency p50 / p95',
            `${ms(median(pushT.commit))} / ${ms(quantile(pushT.commit, 0.95))} ms`,
            `${ms(median(rawLat))} / ${ms(quantile(rawLat, 0.95))} ms (whole txn)`,
            '',
          ],
          [
            'bundle latency p50 / p95 (create + chunk + commit)',
            `${ms(median(pushT.bundle))} / ${ms(quantile(pushT.bundle, 0.95))} ms`,
            '',
            '',
          ],
          [
            `pull, fresh (${int(smallRows)} rows, ${pullSmall.values[0]?.bundles} bundles)`,
            `${int(pullSmallRate)} rows/s`,
            `${int(selectSmallRate)} rows/s`,
            pct(pullSmallRate / selectSmallRate),
          ],
          [
            `pull, fresh (${int(bigRows)} rows, ${pullBig.values[0]?.bundles} bundles, ${pullBig.values[0]?.pages} page(s))`,
            `${int(pullBigRate)} rows/s`,
            `${int(selectBigRate)} rows/s`,
            pct(pullBigRate / selectBigRate),
          ],
          [
            `snapshot (${int(snapBest.rows)} rows): create + ${snapBest.chunks} chunks`,
            `${int(rowsPerSec(snapBest.rows, snapTotalMs))} rows/s (${ms(snapTotalMs)} ms)`,
            `${int(selectBigRate)} rows/s`,
            pct(rowsPerSec(snapBest.rows, snapTotalMs) / selectBigRate),
          ],
          [
            '↳ snapshot create (materialise)',
            `${int(rowsPerSec(snapBest.rows, snapBest.createMs))} rows/s (${ms(snapBest.createMs)} ms)`,
            '',
            '',
          ],
          [
            '↳ snapshot chunk download',
            `${int(rowsPerSec(snapBest.rows, snapBest.chunksMs))} rows/s (${ms(snapBest.chunksMs)} ms)`,
            '',
            '',
          ],
        ],
      ),
    );
    console.log('');
    console.log(
      markdownTable(
        ['diagnostics', 'value'],
        [
          [
            'push ingest CPU per 1,000 rows: Node / PostgreSQL (this DB) / whole machine busy',
            cpuLine(push.cpu),
          ],
          [
            'raw insert CPU per 1,000 rows: Node / PostgreSQL (this DB) / whole machine busy',
            cpuLine(rawInsert.cpu),
          ],
          ...(floor
            ? [
                [
                  'floor prototype CPU per 1,000 rows: Node / PostgreSQL (this DB) / whole machine busy',
                  cpuLine(floor.cpu),
                ],
              ]
            : []),
          [
            'push create / chunk / commit p50',
            `${ms(median(pushT.create))} / ${ms(median(pushT.chunk))} / ${ms(median(pushT.commit))} ms`,
          ],
          [
            `execWrite seeding (1 writer, ${snapBundles} × ${cfg.rows} rows, no HTTP/staging)`,
            `${int(rowsPerSec(cfg.snapshotRows, seed.ms))} rows/s, p50 ${ms(median(seedLat))} ms per bundle`,
          ],
          [
            'spread over repeats (min–max ms): pull small / pull big / snapshot',
            `${ms(best(pullSmall.ms))}–${ms(Math.max(...pullSmall.ms))} / ${ms(best(pullBig.ms))}–${ms(Math.max(...pullBig.ms))} / ${ms(best(snaps.ms))}–${ms(Math.max(...snaps.ms))}`,
          ],
        ],
      ),
    );

    const results = {
      date: new Date().toISOString(),
      machine,
      node: process.version,
      postgres: pgVersion,
      cfg: { ...cfg, adminUrl: undefined, experiments: cfg.experiments.map((e) => e.name) },
      avgPayload,
      push: {
        rowsPerSec: pushRate,
        ms: push.ms,
        cpu: push.cpu,
        commitP50: median(pushT.commit),
        commitP95: quantile(pushT.commit, 0.95),
        bundleP50: median(pushT.bundle),
        createP50: median(pushT.create),
        chunkP50: median(pushT.chunk),
      },
      rawInsert: {
        rowsPerSec: rawRate,
        ms: rawInsert.ms,
        cpu: rawInsert.cpu,
        p50: median(rawLat),
        p95: quantile(rawLat, 0.95),
      },
      ratio: pushRate / rawRate,
      floor: floor
        ? {
            rowsPerSec: rowsPerSec(totalRows, floor.ms),
            ms: floor.ms,
            cpu: floor.cpu,
            p50: median(floor.lat),
          }
        : undefined,
      pullSmall: { rows: smallRows, ms: pullSmall.ms, rowsPerSec: pullSmallRate },
      selectSmall: { ms: selectSmall.ms, rowsPerSec: selectSmallRate },
      pullBig: { rows: bigRows, ms: pullBig.ms, rowsPerSec: pullBigRate },
      selectBig: { ms: selectBig.ms, rowsPerSec: selectBigRate },
      snapshot: snaps.values,
      seed: { ms: seed.ms, p50: median(seedLat) },
    };

    for (const { phase, profile } of profiled) {
      const sum = summarise(profile);
      console.log(
        `\n#### Node CPU profile of the ${phase} phase (${ms(sum.total)} ms non-idle self time)\n`,
      );
      console.log(
        markdownTable(
          ['area (self time)', 'ms', 'share'],
          sum.areas.map(([k, v]) => [`\`${k}\``, ms(v), pct(v / sum.total)]),
        ),
      );
      console.log('');
      console.log(
        markdownTable(
          ['function (self time)', 'ms', 'share'],
          sum.functions.map(([k, v]) => [`\`${k}\``, ms(v), pct(v / sum.total)]),
        ),
      );
    }
    if (cfg.profile) {
      const r = rec as StatementRecorder;
      r.byPhase.clear();
      r.requests.clear();
      for (const [k, v] of concurrentProfile.byPhase) r.byPhase.set(k, v);
      for (const [k, v] of concurrentProfile.requests) r.requests.set(k, v);
      printStatementProfile(
        r,
        `Statement profile of the concurrent push phase (client-observed ms per bundle, summed over ${cfg.devices} devices; includes waiting for CPU)`,
        ['create', 'chunk', 'commit'],
        cfg.devices * cfg.bundles,
      );
      r.byPhase.clear();
      r.requests.clear();
      for (const [k, v] of readProfile.byPhase) r.byPhase.set(k, v);
      for (const [k, v] of readProfile.requests) r.requests.set(k, v);
      printStatementProfile(
        r,
        `Statement profile of pull (${int(bigRows)} rows) and snapshot (ms per whole pull / snapshot)`,
        ['pull', 'snapshot-create', 'snapshot-chunk', 'snapshot-delete'],
        cfg.repeats,
        'operation',
      );
      await profileSerial(client, rec, rawPool, rand, results);
      await profileScaling(client, rec, rand, snapUser, results);
      await profileRoundTrip(results);
    }
    if (cfg.jsonOut) writeFileSync(cfg.jsonOut, JSON.stringify(results, null, 2));
  } finally {
    await cpuProbe?.end().catch(() => undefined);
    await service?.close().catch(() => undefined);
    await closeDb?.().catch(() => undefined);
    await rawPool?.end().catch(() => undefined);
    if (cfg.keepDb) {
      log(`keeping database ${dbName} (BENCH_KEEP_DB=1); drop it with DROP DATABASE ${dbName}`);
    } else {
      log(`dropping database ${dbName}`);
      await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    }
  }
}

/**
 * One device pushing alone (no contention): per-statement times, CPU per bundle in Node
 * and in PostgreSQL, compared with one raw client; then EXPLAIN ANALYZE of every statement
 * of one more bundle.
 */
async function profileSerial(
  client: Client,
  rec: StatementRecorder,
  rawPool: pg.Pool,
  rand: () => number,
  results: Record<string, unknown>,
): Promise<void> {
  const user = 'profile-user';
  const n = cfg.bundles;
  const bundles: PreparedBundle[] = [];
  for (let i = 0; i < n + 1; i++)
    bundles.push(await prepareBundle(makeRows(rand, cfg.rows, i * cfg.rows), i + 1));
  await client.connectEmpty(user);
  await rawPool.query('CHECKPOINT');
  rec.reset();
  rec.enabled = true;
  const t = newTimings();
  const serial = await timed(() => client.pushAll(user, bundles.slice(0, n), t));
  rec.enabled = false;
  const rawLat: number[] = [];
  await rawPool.query('CHECKPOINT');
  const raw = await timed(() =>
    rawInsertAll(
      rawPool,
      user,
      bundles.slice(0, n).map((b) => b.rows),
      rawLat,
    ),
  );

  console.log(`\n### Profile: one device alone, ${n} bundles × ${cfg.rows} rows\n`);
  console.log(
    markdownTable(
      ['per bundle', 'oversync push', 'raw insert txn'],
      [
        ['wall ms (p50)', ms(median(t.bundle)), ms(median(rawLat))],
        ['Node CPU ms', ms(serial.cpu.nodeMs / n), ms(raw.cpu.nodeMs / n)],
        ['PostgreSQL CPU ms (this DB)', ms(serial.cpu.pgMs / n), ms(raw.cpu.pgMs / n)],
        [
          'whole machine busy CPU ms',
          ms(serial.cpu.machineBusyMs / n),
          ms(raw.cpu.machineBusyMs / n),
        ],
        [
          'rows/s (serial)',
          int(rowsPerSec(n * cfg.rows, serial.ms)),
          int(rowsPerSec(n * cfg.rows, raw.ms)),
        ],
      ],
    ),
  );
  printStatementProfile(
    rec,
    'Statements of a serial push (client-observed ms per bundle)',
    ['create', 'chunk', 'commit'],
    n,
  );

  // EXPLAIN ANALYZE of every statement of one more bundle (inside savepoints, rolled back).
  rec.reset();
  rec.enabled = true;
  rec.explainPhases = new Set(['create', 'chunk', 'commit']);
  await client.pushAll(user, bundles.slice(n), newTimings());
  rec.explainPhases = null;
  rec.enabled = false;
  console.log(`\n#### EXPLAIN ANALYZE of one ${cfg.rows}-row bundle (server execution time)\n`);
  console.log(
    markdownTable(
      ['phase', 'statement', 'execution ms', 'of which triggers'],
      rec.explained.map((e) => [
        e.phase,
        `\`${e.label.replaceAll('|', '\\|')}\``,
        ms(e.executionMs),
        e.triggers.map((tr) => `${tr.name} ${ms(tr.ms)} ms × ${tr.calls}`).join('; '),
      ]),
    ),
  );
  writeFileSync(
    cfg.explainOut,
    rec.explained.map((e) => `-- [${e.phase}] ${e.sql.trim()}\n${e.plan}\n`).join('\n'),
  );
  log(`full plans written to ${cfg.explainOut}`);
  results.profile = {
    serial: { ms: serial.ms, cpu: serial.cpu, bundleP50: median(t.bundle) },
    raw: { ms: raw.ms, cpu: raw.cpu, p50: median(rawLat) },
    explained: rec.explained.map((e) => ({
      phase: e.phase,
      label: e.label,
      executionMs: e.executionMs,
      triggers: e.triggers,
    })),
  };
}

/**
 * How commit cost depends on the size of the user's existing data: a few more bundles for
 * the snapshot user (who already holds BENCH_SNAPSHOT_ROWS rows) compared with the first
 * bundles of a fresh user.
 */
async function profileScaling(
  client: Client,
  rec: StatementRecorder,
  rand: () => number,
  bigUser: string,
  results: Record<string, unknown>,
): Promise<void> {
  const n = 3;
  const measure = async (user: string) => {
    const bundles: PreparedBundle[] = [];
    for (let i = 0; i < n; i++)
      bundles.push(await prepareBundle(makeRows(rand, cfg.rows, i * cfg.rows), i + 1));
    await client.connectEmpty(user);
    rec.reset();
    rec.enabled = true;
    const t = newTimings();
    await client.pushAll(user, bundles, t);
    rec.enabled = false;
    // The most expensive commit statement (this was the conflict check when it still rescanned
    // all of a user's row states per staged row).
    const top = [...(rec.byPhase.get('commit') ?? new Map()).entries()]
      .filter(([label]) => !label.startsWith('('))
      .map(([label, b]) => ({ label, ms: b.ms / b.count }))
      .sort((a, b) => b.ms - a.ms)[0];
    return {
      commitP50: median(t.commit),
      topLabel: top?.label ?? '',
      topMs: top?.ms ?? Number.NaN,
    };
  };
  const fresh = await measure('scaling-fresh-user');
  const big = await measure(bigUser);
  // A user that grew after the last ANALYZE (autovacuum lagging, or simply a new user).
  const grown = 'scaling-grown-user';
  for (let done = 0; done < cfg.snapshotRows; done += 5000) {
    const rows = makeRows(rand, Math.min(5000, cfg.snapshotRows - done), done);
    await client.service.scopeManager.execWrite(grown, { writerId: 'bench-seed' }, (tx) =>
      tx.query(RAW_INSERT_SQL.replace(`${SCHEMA}.${RAW_TABLE}`, `${SCHEMA}.${TABLE}`), [
        grown,
        ...rawColumns(rows),
      ]),
    );
  }
  const unanalyzed = await measure(grown);
  const short = (label: string) => `\`${label.slice(0, 48).replaceAll('|', '\\|')}…\``;
  console.log(`\n#### Commit cost vs. the user's existing rows (serial, ${n} bundles each)\n`);
  console.log(
    markdownTable(
      ['user', 'commit p50 ms', 'slowest commit statement', 'its ms'],
      [
        ['fresh user (0 rows)', ms(fresh.commitP50), short(fresh.topLabel), ms(fresh.topMs)],
        [
          `user holding ${int(cfg.snapshotRows)} rows, in planner statistics`,
          ms(big.commitP50),
          short(big.topLabel),
          ms(big.topMs),
        ],
        [
          `user holding ${int(cfg.snapshotRows)} rows written after the last ANALYZE`,
          ms(unanalyzed.commitP50),
          short(unanalyzed.topLabel),
          ms(unanalyzed.topMs),
        ],
      ],
    ),
  );
  results.scaling = { fresh, big, unanalyzed };
}

/** Cost of one trivial statement round trip (Node CPU, PostgreSQL CPU, wall), unnamed vs. prepared. */
async function profileRoundTrip(results: Record<string, unknown>): Promise<void> {
  const pool = new pg.Pool({ connectionString: benchUrl, max: 1, options: '-c TimeZone=UTC' });
  try {
    const sql = 'SELECT user_pk::text AS user_pk FROM sync.user_state WHERE user_id = $1';
    await pool.query(sql, ['device-user-0']);
    // Interleaved blocks, so a change in machine load hits both variants alike.
    const n = 3000;
    const block = 250;
    const sum = () => ({
      ms: 0,
      cpu: { wallMs: 0, machineBusyMs: 0, nodeMs: 0, otherMs: 0, pgMs: 0 },
    });
    const unnamed = sum();
    const prepared = sum();
    const add = (acc: ReturnType<typeof sum>, r: { ms: number; cpu: PhaseCpu }) => {
      acc.ms += r.ms;
      acc.cpu.nodeMs += r.cpu.nodeMs;
      acc.cpu.pgMs += r.cpu.pgMs;
    };
    for (let b = 0; b < n / block; b++) {
      add(
        unnamed,
        await timed(async () => {
          for (let i = 0; i < block; i++) await pool.query(sql, ['device-user-0']);
        }),
      );
      add(
        prepared,
        await timed(async () => {
          for (let i = 0; i < block; i++) {
            await pool.query({ name: 'bench_rt', text: sql, values: ['device-user-0'] });
          }
        }),
      );
    }
    const us = (x: number) => `${((x / n) * 1000).toFixed(0)} µs`;
    console.log(`\n#### One statement round trip (${n} × a primary-key SELECT, serial)\n`);
    console.log(
      markdownTable(
        ['', 'wall', 'Node CPU', 'PostgreSQL CPU'],
        [
          [
            'unnamed (what the server does)',
            us(unnamed.ms),
            us(unnamed.cpu.nodeMs),
            us(unnamed.cpu.pgMs),
          ],
          ['named prepared', us(prepared.ms), us(prepared.cpu.nodeMs), us(prepared.cpu.pgMs)],
        ],
      ),
    );
    results.roundTrip = {
      n,
      unnamed: { ms: unnamed.ms, cpu: unnamed.cpu },
      prepared: { ms: prepared.ms, cpu: prepared.cpu },
    };
  } finally {
    await pool.end();
  }
}

let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  // Connections in use die with the database; their errors are expected from here on.
  process.on('uncaughtException', () => undefined);
  log('interrupted; dropping database');
  void adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    .catch(() => undefined)
    .finally(() => process.exit(130));
});

main().catch((err: unknown) => {
  if (interrupted) return; // the in-flight work failed because the database went away
  console.error(err);
  process.exitCode = 1;
});
