/**
 * Test database backends: in-memory PGlite and a throw-away database on a real PostgreSQL server.
 *
 * `BACKENDS` comes from `OVERSYNC_TEST_BACKENDS` (comma list of `pglite`, `postgres`; default
 * `pglite`). A requested backend that cannot be reached fails loudly: the suite never skips a
 * backend silently.
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { createPgDatabase, createPgliteDatabase, type SyncDatabase } from '@oversync/server';
import pg from 'pg';

/** A database backend the server suite runs against. */
export type Backend = 'pglite' | 'postgres';

const KNOWN_BACKENDS: readonly Backend[] = ['pglite', 'postgres'];

/** Parses an `OVERSYNC_TEST_BACKENDS` value; unknown names throw (a typo must not skip a backend). */
export function parseBackends(value: string | undefined): Backend[] {
  const raw = (value ?? '').trim();
  if (raw === '') return ['pglite'];
  const out: Backend[] = [];
  for (const part of raw.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '') continue;
    if (!KNOWN_BACKENDS.includes(name as Backend)) {
      throw new Error(
        `OVERSYNC_TEST_BACKENDS: unknown backend ${JSON.stringify(name)} (known: ${KNOWN_BACKENDS.join(', ')})`,
      );
    }
    if (!out.includes(name as Backend)) out.push(name as Backend);
  }
  if (out.length === 0) throw new Error('OVERSYNC_TEST_BACKENDS names no backend');
  return out;
}

/** Backends selected for this run (`describe.each(BACKENDS)`). */
export const BACKENDS: Backend[] = parseBackends(process.env.OVERSYNC_TEST_BACKENDS);

/** Admin connection string of the real PostgreSQL server used by the `postgres` backend. */
export const PG_ADMIN_URL: string =
  process.env.OVERSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, empty database for one test file. */
export interface TestDatabase {
  /** The database handle the sync service runs on. */
  db: SyncDatabase;
  backend: Backend;
  /** Runs SQL (may hold several statements, no parameters) outside of the sync service. */
  exec(sql: string): Promise<void>;
  /** Runs one parameterized statement outside of the sync service and returns its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Another {@link SyncDatabase} handle on the same database (a second "process"). */
  openAnother(): SyncDatabase;
  /** Closes every handle and drops the database (postgres). */
  dispose(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `oversync_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch (cause) {
    await admin.end().catch(() => {});
    throw new Error(
      `postgres backend requested but PostgreSQL at ${PG_ADMIN_URL} is unavailable: ${String(cause)}`,
      { cause },
    );
  }
  await admin.end();
  const connectionString = withDatabase(PG_ADMIN_URL, name);
  const raw = new pg.Pool({ connectionString, max: 2 });
  raw.on('error', () => {});
  return assembleTestDatabase({
    backend: 'postgres',
    open: () => createPgDatabase({ connectionString }),
    async exec(sql) {
      await raw.query(sql);
    },
    async query<R>(sql: string, params: unknown[] = []) {
      return (await raw.query(sql, params)).rows as R[];
    },
    async cleanup() {
      await raw.end().catch(() => {});
      const drop = new pg.Client({ connectionString: PG_ADMIN_URL });
      await drop.connect();
      try {
        await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await drop.end();
      }
    },
  });
}

async function createPgliteTestDatabase(): Promise<TestDatabase> {
  let pglite: PGlite;
  try {
    pglite = await PGlite.create();
  } catch (cause) {
    throw new Error(`pglite backend requested but PGlite failed to start: ${String(cause)}`, {
      cause,
    });
  }
  return assembleTestDatabase({
    backend: 'pglite',
    open: () => createPgliteDatabase(pglite),
    async exec(sql) {
      await pglite.exec(sql);
    },
    async query<R>(sql: string, params: unknown[] = []) {
      return (await pglite.query<R>(sql, params)).rows;
    },
    async cleanup() {
      await pglite.close().catch(() => {});
    },
  });
}

/** The parts that differ per backend; handle tracking and one-time disposal are shared. */
interface BackendParts extends Pick<TestDatabase, 'backend' | 'exec' | 'query'> {
  open(): SyncDatabase;
  cleanup(): Promise<void>;
}

function assembleTestDatabase(parts: BackendParts): TestDatabase {
  const handles: SyncDatabase[] = [];
  const open = (): SyncDatabase => {
    const h = parts.open();
    handles.push(h);
    return h;
  };
  const db = open();
  let disposed = false;
  return {
    db,
    backend: parts.backend,
    exec: parts.exec,
    query: parts.query,
    openAnother: open,
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const h of handles) await closeHandle(h);
      await parts.cleanup();
    },
  };
}

async function closeHandle(h: SyncDatabase): Promise<void> {
  const closable = h as unknown as { close?: () => Promise<void> | void };
  if (typeof closable.close === 'function') {
    try {
      await closable.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Creates an empty database on `backend`. PGlite costs ~2.5 s and ~700 MB per instance, so a
 * test file creates one (in `beforeAll`) and separates tests by user id.
 */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  switch (backend) {
    case 'pglite':
      return createPgliteTestDatabase();
    case 'postgres':
      return createPostgresDatabase();
    default:
      throw new Error(`unknown backend ${String(backend)}`);
  }
}
