/**
 * The raw PostgreSQL baseline: the same rows written to and read from a plain table shaped
 * like business.users (no triggers, no sync metadata) through node-postgres.
 */
import type pg from 'pg';
import { type CpuProbe, mapLimit, measure, quantile } from './stats.js';
import { RAW_TABLE } from './targets.js';
import type { RunResult, UserRow } from './workloads.js';

const SELECT_SQL = `SELECT id, name, email, created_at, updated_at FROM ${RAW_TABLE} WHERE _sync_scope_id = $1`;

/** One multi-VALUES INSERT of `rows` for `scope` (its own transaction: autocommit). */
export async function rawInsert(
  db: pg.Pool | pg.PoolClient,
  scope: string,
  rows: readonly UserRow[],
): Promise<void> {
  const values: string[] = [];
  const params: string[] = [scope];
  for (const r of rows) {
    const n = params.length;
    values.push(`($1, $${n + 1}::uuid, $${n + 2}, $${n + 3})`);
    params.push(r.id, r.name, r.email);
  }
  await db.query(
    `INSERT INTO ${RAW_TABLE} (_sync_scope_id, id, name, email) VALUES ${values.join(', ')}`,
    params,
  );
}

/** Rows of `scope`, parsed into JS objects by node-postgres. */
export async function rawSelect(db: pg.Pool | pg.PoolClient, scope: string): Promise<number> {
  const res = await db.query(SELECT_SQL, [scope]);
  return res.rows.length;
}

/** Push baseline: one client per device, each inserting its batches sequentially. */
export async function rawPush(
  pool: pg.Pool,
  probe: CpuProbe | undefined,
  tag: string,
  work: readonly (readonly UserRow[][])[],
): Promise<RunResult> {
  const lat: number[] = [];
  const run = await measure(probe, () =>
    Promise.all(
      work.map(async (bundles, i) => {
        const c = await pool.connect();
        try {
          for (const rows of bundles) {
            const t0 = performance.now();
            await rawInsert(c, `${tag}-d${i}`, rows);
            lat.push(performance.now() - t0);
          }
        } finally {
          c.release();
        }
      }),
    ),
  );
  const rows = work.reduce((n, bundles) => n + bundles.reduce((m, b) => m + b.length, 0), 0);
  return {
    rate: (rows / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    detail: { rows, commitP50: quantile(lat, 0.5), commitP95: quantile(lat, 0.95) },
  };
}

/** Seeds the raw table with the big user's rows (untimed), 1000-row statements. */
export async function rawSeed(pool: pg.Pool, scope: string, bundles: readonly UserRow[][]) {
  for (const rows of bundles) await rawInsert(pool, scope, rows);
}

/** Pull/snapshot baseline: one SELECT of the big user's rows. */
export async function rawSelectAll(
  pool: pg.Pool,
  probe: CpuProbe | undefined,
  scope: string,
  expectRows: number,
): Promise<RunResult> {
  const run = await measure(probe, () => rawSelect(pool, scope));
  if (run.value !== expectRows)
    throw new Error(`raw: select returned ${run.value} rows, expected ${expectRows}`);
  return {
    rate: (run.value / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    detail: { rows: run.value },
  };
}

/** Many-users baseline: per user, insert its rows and select them back; `concurrency` in flight. */
export async function rawUsers(
  pool: pg.Pool,
  probe: CpuProbe | undefined,
  tag: string,
  rows: readonly UserRow[][],
  concurrency: number,
): Promise<RunResult> {
  const lat: number[] = [];
  const run = await measure(probe, () =>
    mapLimit(rows, concurrency, async (userRows, i) => {
      const t0 = performance.now();
      const scope = `${tag}-u${i}`;
      await rawInsert(pool, scope, userRows);
      const n = await rawSelect(pool, scope);
      if (n !== userRows.length) throw new Error(`raw: ${scope} selected ${n} rows`);
      lat.push(performance.now() - t0);
    }),
  );
  return {
    rate: (rows.length / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    detail: {
      users: rows.length,
      errors: 0,
      wallS: run.ms / 1000,
      userP50: quantile(lat, 0.5),
      userP95: quantile(lat, 0.95),
    },
  };
}
