/**
 * The two servers under comparison: ours, started in-process the way the product mounts it
 * (G1 dialect, go-oversync's example schema, JWT auth, real HTTP on loopback), and the
 * reference go-oversync server, which is only reached over HTTP (and its database, for
 * truncation, seed checks and ANALYZE).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEMO_TABLES, listen, REFERENCE_SCHEMA_SQL } from '@oversync/cli';
import { createPgDatabase, createSyncService, jwtAuth } from '@oversync/server';
import pg from 'pg';
import { withDatabase } from '../../interop/our-server.js';

/** The plain table of the raw PostgreSQL baseline: business.users' shape, no triggers. */
export const RAW_TABLE = 'bench_raw.users';

const RAW_DDL = `CREATE SCHEMA IF NOT EXISTS bench_raw;
CREATE TABLE IF NOT EXISTS ${RAW_TABLE} (
  _sync_scope_id TEXT NOT NULL,
  id UUID NOT NULL,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TIMESTAMPTZ DEFAULT now(),
  updated_at TIMESTAMPTZ DEFAULT now(),
  PRIMARY KEY (_sync_scope_id, id)
);`;

/** Runs one statement on a short-lived connection. */
export async function runSql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The database name of a connection URL. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/** Our server, running. */
export interface OurServer {
  baseUrl: string;
  jwtSecret: string;
  dbName: string;
  dbUrl: string;
  pool: number;
  /** The server's own process (undefined: it runs inside the benchmark process). */
  pid?: number;
  /** Stops the server and drops the database (unless kept). */
  close(): Promise<void>;
}

/**
 * Creates `oversync_cmp_<random>` on `adminUrl`, installs go-oversync's example schema (and
 * the raw baseline table), and serves our sync service over HTTP on 127.0.0.1 exactly as
 * `oversync serve` mounts it, speaking G1.
 */
export async function startOurServer(options: {
  adminUrl: string;
  pool: number;
  keepDb: boolean;
  /** `child` (default): a process of its own, like the reference; `inline`: in this process. */
  mode?: 'child' | 'inline';
  log: (msg: string) => void;
}): Promise<OurServer> {
  const dbName = `oversync_cmp_${randomBytes(5).toString('hex')}`;
  const dbUrl = withDatabase(options.adminUrl, dbName);
  const jwtSecret = randomBytes(24).toString('hex');
  options.log(`creating database ${dbName}`);
  await runSql(options.adminUrl, `CREATE DATABASE ${dbName}`);
  let dropped = false;
  const drop = async () => {
    if (dropped || options.keepDb) return;
    dropped = true;
    await runSql(options.adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  };
  let db: ReturnType<typeof createPgDatabase> | undefined;
  try {
    await runSql(dbUrl, `${REFERENCE_SCHEMA_SQL}\n${RAW_DDL}`);
    if (options.mode !== 'inline') {
      const child = spawn(
        process.execPath,
        [
          // e.g. BENCH_OURS_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile our server
          ...(process.env.BENCH_OURS_NODE_ARGS ?? '').split(' ').filter(Boolean),
          '--import',
          'tsx',
          '--conditions=@oversync/source',
          fileURLToPath(new URL('./serve-ours.ts', import.meta.url)),
        ],
        {
          env: {
            ...process.env,
            BENCH_OURS: JSON.stringify({ dbUrl, jwtSecret, pool: options.pool }),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const first = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout });
        lines.once('line', resolve);
        child.once('exit', (code) =>
          reject(new Error(`our server exited (${code}) before listening`)),
        );
      });
      const { url, pid } = JSON.parse(first) as { url: string; pid: number };
      options.log(`our server: ${url} (pool ${options.pool}, process ${pid})`);
      let closing: Promise<void> | undefined;
      return {
        baseUrl: url,
        jwtSecret,
        dbName,
        dbUrl,
        pool: options.pool,
        pid,
        close: () => {
          closing ??= (async () => {
            child.kill('SIGTERM');
            await exited;
            await drop();
            if (options.keepDb) options.log(`kept database ${dbName} (BENCH_KEEP_DB=1)`);
          })();
          return closing;
        },
      };
    }
    db = createPgDatabase({ connectionString: dbUrl, max: options.pool });
    const service = createSyncService({
      db,
      tables: DEMO_TABLES,
      authenticate: jwtAuth({ secret: jwtSecret }),
      dialect: 'g1',
      appName: 'nethttp-server-example',
    });
    await service.bootstrap();
    const server = await listen((request) => service.fetch(request), {
      port: 0,
      host: '127.0.0.1',
    });
    options.log(`our server: ${server.url} (pool ${options.pool})`);
    let closing: Promise<void> | undefined;
    const openDb = db;
    return {
      baseUrl: server.url,
      jwtSecret,
      dbName,
      dbUrl,
      pool: options.pool,
      close: () => {
        closing ??= (async () => {
          await server.close(1000);
          await service.close({ timeoutMs: 2000 }).catch(() => undefined);
          await openDb.close().catch(() => undefined);
          await drop();
          if (options.keepDb) options.log(`kept database ${dbName} (BENCH_KEEP_DB=1)`);
        })();
        return closing;
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    await drop().catch(() => undefined);
    throw error;
  }
}

/**
 * Empties the reference's business and sync data tables, as go-oversync's own mobile_flow
 * harness does between scenarios (configuration tables such as sync.meta stay).
 */
export async function truncateReference(pgUrl: string): Promise<void> {
  await runSql(
    pgUrl,
    `BEGIN;
     TRUNCATE TABLE business.file_reviews, business.files, business.posts, business.users,
       business.typed_rows, business.categories, business.team_members, business.teams
       RESTART IDENTITY CASCADE;
     TRUNCATE TABLE sync.snapshot_session_rows, sync.snapshot_sessions, sync.push_session_rows,
       sync.push_sessions, sync.bundle_capture_stage, sync.bundle_rows, sync.bundle_log,
       sync.source_state, sync.scope_state, sync.row_state, sync.user_state
       RESTART IDENTITY CASCADE;
     COMMIT;`,
  );
}

/** Rows of `business.users` stored for one scope (the seed check). */
export async function usersRowCount(pgUrl: string, scope: string): Promise<number> {
  const rows = await runSql<{ n: string }>(
    pgUrl,
    'SELECT count(*)::text AS n FROM business.users WHERE _sync_scope_id = $1',
    [scope],
  );
  return Number(rows[0]?.n ?? 0);
}
