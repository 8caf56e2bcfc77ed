/**
 * Focused snapshot benchmark: seeds one user with BENCH_SNAPSHOT_ROWS rows of `bench.items`
 * (server-side bundles), then times `POST /sync/snapshot-sessions` and every chunk
 * `GET` through `service.fetch` (in process, no HTTP, no client work on the event loop).
 *
 *   tsx --conditions=@oversync/source packages/server/bench/snapshot-bench.ts
 *
 * Environment:
 *   OVERSYNC_BENCH_PG_URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_SNAPSHOT_ROWS    rows of the user (default 100000)
 *   BENCH_REPEATS          repetitions (default 3; best and all runs are printed)
 *   BENCH_CHUNK_ROWS       max_rows per chunk (default: server default, 1000)
 *   BENCH_KEEP_DB=1        keep the database (its name is printed)
 */
import { randomBytes } from 'node:crypto';
import { createPgDatabase, createSyncService } from '@oversync/server';
import pg from 'pg';
import { makeRows, prng, rawColumns, SCHEMA, TABLE, tableDdl } from './lib/workload.js';

const env = (name: string, fallback: number) => {
  const v = process.env[name];
  return v ? Number(v) : fallback;
};
const adminUrl = process.env.OVERSYNC_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = env('BENCH_SNAPSHOT_ROWS', 100_000);
const REPEATS = env('BENCH_REPEATS', 3);
const CHUNK_ROWS = process.env.BENCH_CHUNK_ROWS;
const log = (m: string) => process.stderr.write(`[snapshot-bench] ${m}\n`);

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const dbName = `oversync_sbench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${dbName}`);
  log(`database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const db = createPgDatabase({ connectionString: url.toString(), max: 4 });
  try {
    await db.exec(`CREATE SCHEMA ${SCHEMA}`);
    await db.exec(tableDdl(TABLE));
    const service = createSyncService({
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
    const user = 'snap-user';
    const rows = makeRows(prng(20261125), ROWS, 0);
    const sql = `INSERT INTO ${SCHEMA}.${TABLE}
      (_sync_scope_id, id, title, body, qty, price, done, updated_at)
      SELECT $1, u.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int8[], $6::numeric[], $7::bool[], $8::timestamptz[])
        AS u(id, title, body, qty, price, done, updated_at)`;
    log(`seeding ${ROWS} rows`);
    for (let s = 0; s < rows.length; s += 10_000) {
      const batch = rows.slice(s, s + 10_000);
      await service.scopeManager.execWrite(user, { writerId: 'snapshot-bench-seed' }, (tx) =>
        tx.query(sql, [user, ...rawColumns(batch)]),
      );
    }
    await db.query('ANALYZE');
    const headers = {
      authorization: `Bearer ${user}`,
      'oversync-source-id': 'snapshot-bench-device',
      'content-type': 'application/json',
    };
    const base = 'http://bench.local/sync/snapshot-sessions';
    const results: { create: number; chunks: number; n: number; bytes: number }[] = [];
    for (let rep = 0; rep < REPEATS + 1; rep++) {
      const t0 = performance.now();
      const res = await service.fetch(new Request(base, { method: 'POST', headers, body: '' }));
      const text = await res.text();
      const t1 = performance.now();
      if (res.status !== 200) throw new Error(`create ${res.status} ${text}`);
      const session = JSON.parse(text) as { snapshot_id: string; row_count: number };
      let after = 0;
      let n = 0;
      let bytes = 0;
      let chunkMs = 0;
      for (;;) {
        const c0 = performance.now();
        const q = `${base}/${session.snapshot_id}?after_row_ordinal=${after}${CHUNK_ROWS ? `&max_rows=${CHUNK_ROWS}` : ''}`;
        const r = await service.fetch(new Request(q, { headers }));
        const body = await r.text();
        chunkMs += performance.now() - c0;
        if (r.status !== 200) throw new Error(`chunk ${r.status} ${body}`);
        const chunk = JSON.parse(body) as {
          next_row_ordinal: number;
          has_more: boolean;
          byte_count: number;
          rows: unknown[];
        };
        n += chunk.rows.length;
        bytes += chunk.byte_count;
        after = chunk.next_row_ordinal;
        if (!chunk.has_more) break;
      }
      const t2 = t1 + chunkMs; // request time only: the bench's own JSON.parse is excluded
      await service.fetch(
        new Request(`${base}/${session.snapshot_id}`, { method: 'DELETE', headers }),
      );
      if (n !== session.row_count) throw new Error(`rows ${n} != ${session.row_count}`);
      if (rep > 0) results.push({ create: t1 - t0, chunks: t2 - t1, n, bytes });
      log(
        `${rep === 0 ? 'warm-up' : `run ${rep}`}: create ${(t1 - t0).toFixed(0)} ms, chunks ${(t2 - t1).toFixed(0)} ms (${n} rows, ${bytes} B)`,
      );
    }
    const best = (f: (r: (typeof results)[number]) => number) => Math.min(...results.map(f));
    const rate = (ms: number) => Math.round((ROWS / ms) * 1000);
    console.log(
      `create: best ${best((r) => r.create).toFixed(0)} ms (${rate(best((r) => r.create))} rows/s); chunks: best ${best((r) => r.chunks).toFixed(0)} ms (${rate(best((r) => r.chunks))} rows/s); runs ${results.map((r) => `${r.create.toFixed(0)}/${r.chunks.toFixed(0)}`).join(' ')}`,
    );
    await service.close();
  } finally {
    await db.close().catch(() => undefined);
    if (process.env.BENCH_KEEP_DB === '1') log(`kept ${dbName}`);
    else await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  }
}

await main();
