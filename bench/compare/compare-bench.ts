/**
 * Side-by-side benchmark of our sync server's G1 mount and the reference go-oversync server,
 * on the same PostgreSQL, with the same client (interop/g1-client.ts), in one run, next to a
 * raw PostgreSQL baseline.
 *
 *   npm run bench:compare
 *
 * Environment:
 *   OVERSYNC_BENCH_PG_URL           admin URL for our database (default
 *                                   postgres://postgres@127.0.0.1:5432/postgres); a database
 *                                   oversync_cmp_<random> is created there and dropped at the end
 *   OVERSYNC_REFERENCE_URL          base URL of a running go-oversync example server (not started
 *                                   here); unset = the reference is not measured
 *   OVERSYNC_REFERENCE_JWT_SECRET   its HS256 JWT secret (required with the URL)
 *   OVERSYNC_REFERENCE_PG_URL       its database: truncated before (and after) the run, used for
 *                                   the seed check and ANALYZE; optional
 *   OVERSYNC_REFERENCE_PID          pid of the reference process for CPU accounting (default:
 *                                   found from the listening port)
 *   BENCH_REFERENCE_TRUNCATE=0      do not truncate the reference database
 *   BENCH_BUNDLES                   bundles per device in the push workload (default 20)
 *   BENCH_DEVICES                   concurrent devices in the push workload (default 10)
 *   BENCH_BIG_ROWS                  rows of the pull/snapshot user, a multiple of 1000 (default 100000)
 *   BENCH_USERS                     users of the many-users workload (default 200)
 *   BENCH_USERS_CONCURRENCY         users in flight (default 50)
 *   BENCH_REPEATS                   repetitions of every timed measurement (default 1)
 *   BENCH_POOL                      our server's pg pool size (default 10)
 *   BENCH_RETRY_ATTEMPTS            attempts of the Go client's retry policy for 429/502/503/504 on
 *                                   connect, pull and snapshot requests (default 3, as the Go client)
 *   BENCH_ANALYZE=0                 skip ANALYZE after warm-up, every 10 seeding bundles and after
 *                                   seeding (it stands in for autovacuum, which may be off)
 *   BENCH_WORKLOADS                 comma-separated subset of push,pull,snapshot,users (default all)
 *   BENCH_JSON_OUT                  write the raw results JSON here
 *   BENCH_SVG_OUT                   write the SVG chart here (render-svg.ts)
 *   BENCH_KEEP_DB=1                 keep our database and leave the reference's data in place
 *
 * Progress goes to stderr, the tables to stdout. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import type { G1Device } from '../../interop/g1-client.js';
import { envInt } from '../../packages/server/bench/lib/env.js';
import { rawPush, rawSeed, rawSelectAll, rawUsers } from './raw.js';
import { renderSvg } from './render-svg.js';
import type { CompareResults, Measurement, Side, WorkloadId, WorkloadResult } from './results.js';
import {
  type CpuProbe,
  type CpuUse,
  int,
  markdownTable,
  median,
  ms,
  pct,
  pidListeningOn,
  ratio,
} from './stats.js';
import {
  databaseOf,
  type OurServer,
  runSql,
  startOurServer,
  truncateReference,
  usersRowCount,
} from './targets.js';
import {
  goRetryFetch,
  makeUserRows,
  manyUsers,
  payloadJson,
  preparePush,
  pullAllRows,
  pushIngest,
  Recorder,
  type RunResult,
  readerDevice,
  type ServerUnderTest,
  seedBigUser,
  snapshotRows,
  type UserRow,
  warmUp,
} from './workloads.js';

const cfg = {
  adminUrl: process.env.OVERSYNC_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  bundles: envInt('BENCH_BUNDLES', 20),
  devices: envInt('BENCH_DEVICES', 10),
  rowsPerBundle: 100,
  bigRows: envInt('BENCH_BIG_ROWS', 100_000),
  users: envInt('BENCH_USERS', 200),
  usersConcurrency: envInt('BENCH_USERS_CONCURRENCY', 50),
  repeats: envInt('BENCH_REPEATS', 1),
  pool: envInt('BENCH_POOL', 10),
  analyze: process.env.BENCH_ANALYZE !== '0',
  jsonOut: process.env.BENCH_JSON_OUT,
  svgOut: process.env.BENCH_SVG_OUT,
  keepDb: process.env.BENCH_KEEP_DB === '1',
  referenceUrl: process.env.OVERSYNC_REFERENCE_URL?.replace(/\/+$/, '') || undefined,
  referenceSecret: process.env.OVERSYNC_REFERENCE_JWT_SECRET,
  referencePgUrl: process.env.OVERSYNC_REFERENCE_PG_URL || undefined,
  referencePid: process.env.OVERSYNC_REFERENCE_PID
    ? Number(process.env.OVERSYNC_REFERENCE_PID)
    : undefined,
  truncateReference: process.env.BENCH_REFERENCE_TRUNCATE !== '0',
  retryAttempts: envInt('BENCH_RETRY_ATTEMPTS', 3),
  workloads: new Set(
    (process.env.BENCH_WORKLOADS || 'push,pull,snapshot,users').split(',').map((w) => w.trim()),
  ),
};
for (const w of cfg.workloads) {
  if (!['push', 'pull', 'snapshot', 'users'].includes(w)) {
    throw new Error(`BENCH_WORKLOADS: unknown workload ${w} (push, pull, snapshot, users)`);
  }
}
const BIG_BUNDLE_ROWS = 1000;
const REFERENCE_POOL = 'pgx max 50 / min 5 (go-oversync example defaults)';

const started = performance.now();
const log = (msg: string) =>
  process.stderr.write(`[compare +${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

/** Summarises repeated runs. */
function summarise(runs: readonly RunResult[]): Measurement {
  const rates = runs.map((r) => r.rate);
  const bestIndex = rates.indexOf(Math.max(...rates));
  const best = runs[bestIndex] as RunResult;
  return {
    rates,
    best: best.rate,
    median: median(rates),
    wallMs: runs.map((r) => r.ms),
    detail: best.detail,
    cpu: runs.map((r) => r.cpu),
  };
}

function fmtRate(m: Measurement | undefined, repeats: number): string {
  if (!m) return 'not measured';
  return repeats > 1 ? `${int(m.best)} (median ${int(m.median)})` : int(m.best);
}

function cpuCell(c: CpuUse, side: Side): string {
  const pctOfCore = (x: number) =>
    Number.isFinite(x) ? `${Math.round((x / c.wallMs) * 100)}%` : 'n/a';
  const parts = [`Node ${pctOfCore(c.nodeMs)}`];
  if (side === 'reference') parts.push(`Go ${pctOfCore(c.referenceMs)}`);
  else if (Number.isFinite(c.referenceMs)) parts.push(`our server ${pctOfCore(c.referenceMs)}`);
  parts.push(`PG ${pctOfCore(c.pgMs)}`);
  parts.push(`machine ${pctOfCore(c.machineBusyMs)} of ${c.cores * 100}%`);
  return parts.join(', ');
}

/** A server reached through the G1 client, with request timing and the Go retry policy. */
function serverUnderTest(
  side: ServerUnderTest['side'],
  baseUrl: string,
  jwtSecret: string,
  probe: CpuProbe,
): ServerUnderTest {
  const recorder = new Recorder();
  const retries = new Map<number, number>();
  return {
    side,
    recorder,
    retries,
    probe,
    target: {
      baseUrl,
      jwtSecret,
      onResponse: recorder.onResponse,
      fetch: goRetryFetch(retries, cfg.retryAttempts),
    },
  };
}

/** The commit the run measured, and whether server or protocol sources differ from it. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git(
      'status',
      '--porcelain',
      '--',
      'packages/server/src',
      'packages/protocol/src',
    );
    return dirty === ''
      ? head
      : `${head} + uncommitted changes in packages/server/src or packages/protocol/src`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(): Promise<number> {
  const loadStart = os.loadavg();
  if (cfg.bigRows % BIG_BUNDLE_ROWS !== 0)
    throw new Error('BENCH_BIG_ROWS must be a multiple of 1000');
  if (cfg.referenceUrl && !cfg.referenceSecret) {
    throw new Error('OVERSYNC_REFERENCE_URL is set but OVERSYNC_REFERENCE_JWT_SECRET is not');
  }
  const postgres =
    (await runSql<{ version: string }>(cfg.adminUrl, 'SELECT version()'))[0]?.version ?? '?';
  const autovacuum =
    (await runSql<{ autovacuum: string }>(cfg.adminUrl, 'SHOW autovacuum'))[0]?.autovacuum ?? '?';

  // ---- the reference: reached, never started
  let referencePid: number | undefined;
  let referenceDb: string | undefined;
  if (cfg.referenceUrl) {
    const health = await fetch(`${cfg.referenceUrl}/syncx/health`).catch((error: unknown) => {
      throw new Error(`reference at ${cfg.referenceUrl} is not reachable: ${String(error)}`);
    });
    const body = await health.text();
    if (health.status !== 200) {
      throw new Error(`reference health: HTTP ${health.status} ${body.slice(0, 200)}`);
    }
    const u = new URL(cfg.referenceUrl);
    referencePid =
      cfg.referencePid ??
      (['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)
        ? pidListeningOn(Number(u.port || 80))
        : undefined);
    log(`reference: ${cfg.referenceUrl} healthy${referencePid ? ` (pid ${referencePid})` : ''}`);
    if (cfg.referencePgUrl) {
      referenceDb = databaseOf(cfg.referencePgUrl);
      if (cfg.truncateReference) {
        log(`truncating the reference's business.* and sync.* data tables (${referenceDb})`);
        await truncateReference(cfg.referencePgUrl);
      }
    } else {
      log(
        'OVERSYNC_REFERENCE_PG_URL is not set: no truncation, seed check, ANALYZE or PG CPU for the reference',
      );
    }
  } else {
    console.log(
      'reference: not measured (OVERSYNC_REFERENCE_URL is not set; see docs/benchmarks.md, "Side by side with go-oversync")',
    );
  }

  let ours: OurServer | undefined;
  let rawPool: pg.Pool | undefined;
  let probeClient: pg.Client | undefined;
  const cleanup = async () => {
    await ours?.close().catch((e: unknown) => log(`close: ${String(e)}`));
    await rawPool?.end().catch(() => undefined);
    await probeClient?.end().catch(() => undefined);
    if (cfg.referencePgUrl && cfg.truncateReference && !cfg.keepDb) {
      await truncateReference(cfg.referencePgUrl).catch((e: unknown) =>
        log(`reference truncate: ${String(e)}`),
      );
    }
  };
  process.once('SIGINT', () => {
    log('interrupted; cleaning up');
    void cleanup().finally(() => process.exit(130));
  });

  try {
    ours = await startOurServer({
      adminUrl: cfg.adminUrl,
      pool: cfg.pool,
      mode: process.env.BENCH_OURS_MODE === 'inline' ? 'inline' : 'child',
      keepDb: cfg.keepDb,
      log,
    });
    probeClient = new pg.Client({ connectionString: cfg.adminUrl });
    probeClient.on('error', () => undefined);
    await probeClient.connect();
    rawPool = new pg.Pool({
      connectionString: ours.dbUrl,
      max: cfg.devices,
    });
    rawPool.on('error', () => undefined);
    const pool = rawPool;
    const probe = probeClient;

    const oursSide = serverUnderTest('ours', ours.baseUrl, ours.jwtSecret, {
      pg: probe,
      databases: [ours.dbName],
      // "referencePid" is the measured server's own process, whichever server that is.
      referencePid: ours.pid,
    });
    const refSide = cfg.referenceUrl
      ? serverUnderTest('reference', cfg.referenceUrl, cfg.referenceSecret as string, {
          pg: probe,
          databases: referenceDb ? [referenceDb] : [],
          referencePid,
        })
      : undefined;
    const rawProbe: CpuProbe = { pg: probe, databases: [ours.dbName], referencePid: undefined };
    const sides = refSide ? [oursSide, refSide] : [oursSide];

    const analyze = async () => {
      if (!cfg.analyze) return;
      await runSql((ours as OurServer).dbUrl, 'ANALYZE');
      if (refSide && cfg.referencePgUrl) await runSql(cfg.referencePgUrl, 'ANALYZE');
    };
    const checkpoint = () => probe.query('CHECKPOINT');
    const tag = `cmp${randomBytes(3).toString('hex')}`;

    // ---- warm-up: every request kind once per server, and the raw statements
    log('warm-up');
    for (const s of sides) await warmUp(s, `${tag}-warm`);
    await rawSeed(pool, `${tag}-warm`, [makeUserRows(100)]);
    await rawSelectAll(pool, undefined, `${tag}-warm`, 100);
    await analyze();

    const runs: Record<WorkloadId, Record<Side, RunResult[]>> = {
      push: { ours: [], reference: [], raw: [] },
      pull: { ours: [], reference: [], raw: [] },
      'snapshot-1000': { ours: [], reference: [], raw: [] },
      'snapshot-5000': { ours: [], reference: [], raw: [] },
      users: { ours: [], reference: [], raw: [] },
    };
    const userErrors: string[] = [];

    // ---- 1. push ingest
    for (let rep = 0; rep < (cfg.workloads.has('push') ? cfg.repeats : 0); rep++) {
      const work = preparePush(cfg.devices, cfg.bundles, cfg.rowsPerBundle);
      for (const s of sides) {
        log(
          `push ingest (${s.side}, repeat ${rep + 1}): ${cfg.devices} devices × ${cfg.bundles} bundles × ${cfg.rowsPerBundle} rows`,
        );
        await checkpoint();
        runs.push[s.side].push(await pushIngest(s, `${tag}-push${rep}`, work));
      }
      log(`push ingest (raw, repeat ${rep + 1})`);
      await checkpoint();
      runs.push.raw.push(await rawPush(pool, rawProbe, `${tag}-push${rep}`, work));
    }

    // ---- the 100k-row user, seeded through each server (untimed), for pull and snapshot
    const seeding: CompareResults['seeding'] = {};
    if (cfg.workloads.has('pull') || cfg.workloads.has('snapshot')) {
      const bigUser = `${tag}-big`;
      const bigBundles = Array.from({ length: cfg.bigRows / BIG_BUNDLE_ROWS }, () =>
        makeUserRows(BIG_BUNDLE_ROWS),
      );
      for (const s of sides) {
        log(
          `seeding ${bigUser} on ${s.side}: ${bigBundles.length} bundles × ${BIG_BUNDLE_ROWS} rows`,
        );
        const seeded = await seedBigUser(s, bigUser, bigBundles, analyze);
        seeding[s.side] = { ...seeded, rate: (seeded.rows / seeded.ms) * 1000 };
      }
      await rawSeed(pool, bigUser, bigBundles);
      const seedCheck = async (side: string, url: string) => {
        const n = await usersRowCount(url, bigUser);
        if (n !== cfg.bigRows)
          throw new Error(
            `${side}: seed check: ${n} rows of ${bigUser} in business.users, expected ${cfg.bigRows}`,
          );
      };
      await seedCheck('ours', ours.dbUrl);
      if (refSide && cfg.referencePgUrl) await seedCheck('reference', cfg.referencePgUrl);
      await analyze();
      const readers = new Map<ServerUnderTest, G1Device>();
      for (const s of sides) readers.set(s, await readerDevice(s, bigUser));

      // ---- 2. pull
      for (let rep = 0; rep < (cfg.workloads.has('pull') ? cfg.repeats : 0); rep++) {
        for (const s of sides) {
          log(`pull ${cfg.bigRows} rows (${s.side}, repeat ${rep + 1})`);
          runs.pull[s.side].push(await pullAllRows(s, readers.get(s) as G1Device, cfg.bigRows));
        }
        runs.pull.raw.push(await rawSelectAll(pool, rawProbe, bigUser, cfg.bigRows));
      }

      // ---- 3. snapshot hydration
      for (const maxRows of [1000, 5000] as const) {
        const id = `snapshot-${maxRows}` as const;
        for (let rep = 0; rep < (cfg.workloads.has('snapshot') ? cfg.repeats : 0); rep++) {
          for (const s of sides) {
            log(`snapshot ${cfg.bigRows} rows, max_rows=${maxRows} (${s.side}, repeat ${rep + 1})`);
            runs[id][s.side].push(
              await snapshotRows(s, readers.get(s) as G1Device, maxRows, cfg.bigRows),
            );
          }
          runs[id].raw.push(await rawSelectAll(pool, rawProbe, bigUser, cfg.bigRows));
        }
      }
    }

    // ---- 4. many users at once
    for (let rep = 0; rep < (cfg.workloads.has('users') ? cfg.repeats : 0); rep++) {
      const rows: UserRow[][] = Array.from({ length: cfg.users }, () => makeUserRows(10));
      for (const s of sides) {
        log(`${cfg.users} users, ${cfg.usersConcurrency} in flight (${s.side}, repeat ${rep + 1})`);
        const r = await manyUsers(s, `${tag}-many${rep}`, rows, cfg.usersConcurrency);
        userErrors.push(...r.errors.map((e) => `${s.side}: ${e}`));
        runs.users[s.side].push(r);
      }
      // Why: the reference's pgx pool keeps up to 50 idle connections after this workload, and
      // the server is shared; the raw pool takes what is free, keeping 10 connections spare.
      const free =
        (
          await probe.query<{ free: number }>(
            `SELECT current_setting('max_connections')::int
                    - current_setting('superuser_reserved_connections')::int
                    - (SELECT count(*) FROM pg_stat_activity)::int AS free`,
          )
        ).rows[0]?.free ?? 0;
      const connections = Math.max(1, Math.min(cfg.usersConcurrency, free - 10));
      const usersPool = new pg.Pool({ connectionString: ours.dbUrl, max: connections });
      usersPool.on('error', () => undefined);
      try {
        log(`${cfg.users} users (raw, repeat ${rep + 1}): ${connections} pg connections`);
        const r = await rawUsers(
          usersPool,
          rawProbe,
          `${tag}-many${rep}`,
          rows,
          cfg.usersConcurrency,
        );
        r.detail.connections = connections;
        runs.users.raw.push(r);
      } finally {
        await usersPool.end();
      }
    }

    // ---- results
    const titles: Record<WorkloadId, [string, WorkloadResult['unit']]> = {
      push: [
        `push ingest: ${cfg.devices} devices × ${cfg.bundles} bundles × ${cfg.rowsPerBundle} rows`,
        'rows/s',
      ],
      pull: [`pull ${int(cfg.bigRows)} rows from 0, max_bundles=1000`, 'rows/s'],
      'snapshot-1000': [`snapshot hydration ${int(cfg.bigRows)} rows, max_rows=1000`, 'rows/s'],
      'snapshot-5000': [`snapshot hydration ${int(cfg.bigRows)} rows, max_rows=5000`, 'rows/s'],
      users: [`${cfg.users} users syncing at once (${cfg.usersConcurrency} in flight)`, 'users/s'],
    };
    const measured = (Object.keys(runs) as WorkloadId[]).filter((id) => runs[id].ours.length > 0);
    const workloads: WorkloadResult[] = measured.map((id) => {
      const [title, unit] = titles[id];
      const w: WorkloadResult = {
        id,
        title,
        unit,
        ours: summarise(runs[id].ours),
        raw: summarise(runs[id].raw),
      };
      if (refSide) w.reference = summarise(runs[id].reference);
      return w;
    });
    const cores = os.cpus().length;
    const results: CompareResults = {
      date: new Date().toISOString(),
      machine: {
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
        cores,
        ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        node: process.version,
        postgres,
        code: codeVersion(),
        loadAverageAtStart: loadStart,
        loadAverageAtEnd: os.loadavg(),
      },
      config: {
        bundles: cfg.bundles,
        devices: cfg.devices,
        rowsPerBundle: cfg.rowsPerBundle,
        bigRows: cfg.bigRows,
        users: cfg.users,
        usersConcurrency: cfg.usersConcurrency,
        repeats: cfg.repeats,
        oursPool: cfg.pool,
        referencePool: refSide ? REFERENCE_POOL : 'n/a',
        analyze: cfg.analyze,
        payloadBytes: Buffer.byteLength(payloadJson(makeUserRows(1)[0] as UserRow)),
      },
      reference: refSide
        ? {
            measured: true,
            url: cfg.referenceUrl as string,
            ...(referencePid ? { pid: referencePid } : {}),
          }
        : { measured: false, note: 'OVERSYNC_REFERENCE_URL is not set' },
      seeding,
      workloads,
      failures: [],
    };
    const unexpected = sides.flatMap((s) =>
      s.recorder.unexpected.map((u) => `${s.side}: ${u.method} ${u.path} → HTTP ${u.status}`),
    );
    results.failures = [...unexpected, ...userErrors];
    printReport(results, autovacuum, ours.baseUrl);
    if (cfg.jsonOut) {
      writeFileSync(cfg.jsonOut, `${JSON.stringify(results, null, 2)}\n`);
      log(`results JSON: ${cfg.jsonOut}`);
    }
    if (cfg.svgOut) {
      writeFileSync(cfg.svgOut, renderSvg(results));
      log(`chart: ${cfg.svgOut}`);
    }
    if (unexpected.length > 0 || userErrors.length > 0) {
      for (const line of [...unexpected, ...userErrors].slice(0, 20)) log(`FAILED: ${line}`);
      log(`${unexpected.length} unexpected HTTP statuses, ${userErrors.length} user errors`);
      return 1;
    }
    return 0;
  } finally {
    await cleanup();
  }
}

function printReport(r: CompareResults, autovacuum: string, oursUrl: string): void {
  const m = r.machine;
  const c = r.config;
  const rep = c.repeats;
  const w = (id: WorkloadId) => r.workloads.find((x) => x.id === id);
  console.log('### oversync (G1 mount) vs go-oversync reference vs raw PostgreSQL\n');
  console.log(`- date: ${r.date}`);
  console.log(
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')}, at end ${m.loadAverageAtEnd.map((l) => l.toFixed(2)).join(' / ')}`,
  );
  console.log(
    `- Node ${m.node}; ${m.postgres} (autovacuum ${autovacuum}; ANALYZE of both databases after warm-up, every 10 seeding bundles and after seeding: ${c.analyze ? 'yes' : 'no'})`,
  );
  console.log(`- code: ${m.code}`);
  console.log(
    `- ours: @oversync/server ${process.env.BENCH_OURS_MODE === 'inline' ? 'in this process' : 'in its own Node process (bench/compare/serve-ours.ts)'}, createSyncService({ dialect: 'g1' }) + jwtAuth, 8 business tables, served by @oversync/cli listen on ${oursUrl}; pg pool max ${c.oursPool} (BENCH_POOL)`,
  );
  console.log(
    `- reference: ${r.reference.measured ? `${r.reference.url}${r.reference.pid ? ` (pid ${r.reference.pid})` : ''}, go-oversync nethttp_server example; ${c.referencePool}` : 'not measured'}`,
  );
  console.log(
    `- client: interop/g1-client.ts for both servers (Node fetch, keep-alive, lossless JSON parse of every response, the Go client's retry policy with ${cfg.retryAttempts} attempts on 429/5xx for connect/pull/snapshot); payload ${c.payloadBytes} B/row (id, name, email)`,
  );
  console.log(`- repeats: ${rep}${rep > 1 ? ' (best, median in brackets)' : ''}\n`);

  const rows: string[][] = r.workloads.map((x) => {
    const vsRef = x.reference ? x.ours.best / x.reference.best : Number.NaN;
    return [
      `${x.title} (${x.unit})`,
      `**${fmtRate(x.ours, rep)}**`,
      fmtRate(x.reference, rep),
      x.reference ? `**${ratio(vsRef)}**` : 'n/a',
      fmtRate(x.raw, rep),
      pct(x.ours.best / x.raw.best),
    ];
  });
  console.log(
    markdownTable(
      ['workload', 'ours', 'reference', 'ours / reference', 'raw PG', 'ours % of raw'],
      rows,
    ),
  );

  // Details of the best repeat of each side.
  const d = (id: WorkloadId, side: Side) => {
    const x = w(id);
    if (!x) return undefined;
    return side === 'ours'
      ? x.ours.detail
      : side === 'reference'
        ? x.reference?.detail
        : x.raw.detail;
  };
  const cell = (id: WorkloadId, side: Side, f: (v: Record<string, number>) => string) => {
    const v = d(id, side);
    return v ? f(v) : 'n/a';
  };
  const both = (id: WorkloadId, f: (v: Record<string, number>) => string) => [
    cell(id, 'ours', f),
    cell(id, 'reference', f),
  ];
  const snap = (v: Record<string, number>) =>
    `${ms(v.createMs as number)} / ${ms(v.chunkHttpMs as number)} / ${ms(v.clientParseMs as number)} (${v.chunks} chunks)`;
  const seed = (side: 'ours' | 'reference') => {
    const s = r.seeding[side];
    return s ? `${int(s.rate)} rows/s (${(s.ms / 1000).toFixed(1)} s)` : 'n/a';
  };
  console.log('\n#### Details (best repeat)\n');
  console.log(
    markdownTable(
      ['detail', 'ours', 'reference', 'raw PG'],
      (
        [
          [
            'push: commit latency p50 / p95 (ms)',
            ...both('push', (v) => `${ms(v.commitP50 as number)} / ${ms(v.commitP95 as number)}`),
            cell(
              'push',
              'raw',
              (v) => `INSERT ${ms(v.commitP50 as number)} / ${ms(v.commitP95 as number)}`,
            ),
          ],
          [
            'push: create / chunk / commit request p50 (ms)',
            ...both(
              'push',
              (v) =>
                `${ms(v.createP50 as number)} / ${ms(v.chunkP50 as number)} / ${ms(v.commitP50 as number)}`,
            ),
            '',
          ],
          [
            'push: first bundle of every device re-read and bundle_hash verified',
            ...both('push', (v) => `${v.hashVerifiedBundles} bundles ok`),
            '',
          ],
          [
            `pull: server to headers / whole HTTP / client parse (ms)`,
            ...both(
              'pull',
              (v) =>
                `${ms(v.serverToHeadersMs as number)} / ${ms(v.httpMs as number)} / ${ms(v.clientParseMs as number)}`,
            ),
            cell('pull', 'raw', (v) => `${int(v.rows as number)} rows`),
          ],
          [
            'pull: pages, response size',
            ...both(
              'pull',
              (v) => `${v.pages} page(s), ${(v.responseMB as number).toFixed(1)} M chars`,
            ),
            '',
          ],
          [
            'snapshot max_rows=1000: create / chunks HTTP / client parse (ms)',
            ...both('snapshot-1000', snap),
            '',
          ],
          [
            'snapshot max_rows=5000: create / chunks HTTP / client parse (ms)',
            ...both('snapshot-5000', snap),
            '',
          ],
          [
            `${c.users} users: wall time (s)`,
            ...both('users', (v) => (v.wallS as number).toFixed(2)),
            cell(
              'users',
              'raw',
              (v) => `${(v.wallS as number).toFixed(2)} (${v.connections} pg connections)`,
            ),
          ],
          [
            `${c.users} users: per-user latency p50 / p95 (ms)`,
            ...both('users', (v) => `${ms(v.userP50 as number)} / ${ms(v.userP95 as number)}`),
            cell('users', 'raw', (v) => `${ms(v.userP50 as number)} / ${ms(v.userP95 as number)}`),
          ],
          [
            `${c.users} users: errors`,
            ...both('users', (v) => String(v.errors)),
            cell('users', 'raw', () => '0'),
          ],
          [
            `${c.users} users: requests repeated by the Go client's retry policy (429/5xx)`,
            ...both('users', (v) => String(v.retries)),
            '',
          ],
          [
            `${c.users} users: snapshot create p50 / p95 (ms, final attempt)`,
            ...both(
              'users',
              (v) => `${ms(v.snapshotCreateP50 as number)} / ${ms(v.snapshotCreateP95 as number)}`,
            ),
            '',
          ],
          [
            `seeding ${int(c.bigRows)} rows, one device, serial 1000-row bundles (untimed, info)`,
            seed('ours'),
            seed('reference'),
            '',
          ],
        ] as string[][]
      ).filter((row) => row.slice(1).some((v) => v !== 'n/a' && v !== '')),
    ),
  );

  console.log(
    '\n#### CPU during each measurement (best repeat; % of one core, from /proc and process.cpuUsage)\n',
  );
  const cpuRows: string[][] = [];
  for (const x of r.workloads) {
    for (const side of ['ours', 'reference', 'raw'] as const) {
      const mm = side === 'ours' ? x.ours : side === 'reference' ? x.reference : x.raw;
      if (!mm) continue;
      const i = mm.rates.indexOf(mm.best);
      const cpu = mm.cpu[i] as CpuUse;
      cpuRows.push([x.id, side, int(cpu.wallMs), cpuCell(cpu, side)]);
    }
  }
  console.log(markdownTable(['workload', 'side', 'wall ms', 'CPU'], cpuRows));
  console.log(
    '\nNode = the benchmark process: the client for every side (plus our server with BENCH_OURS_MODE=inline). our server = its own process. Go = the reference process. PG = backends of the measured database plus WAL writer, checkpointer and background writer.',
  );
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `[compare] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
