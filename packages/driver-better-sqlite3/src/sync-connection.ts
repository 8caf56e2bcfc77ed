/**
 * The synchronous better-sqlite3 connection that both modes run on: in-thread it is wrapped by
 * `fromSyncConnection`, in worker mode it lives inside the worker thread.
 *
 * @module
 */

import type { RunResult, SqlRow, SqlValue, SyncSqliteConnection } from '@oversync/client';
import Database from 'better-sqlite3';
import { bindParams, readRow } from './sql-values.js';

/**
 * Options to open a connection to a database file.
 *
 * @example
 * ```ts
 * const options: BetterSqlite3FileOptions = { filename: 'app.db', busyTimeoutMs: 10_000 };
 * ```
 */
export interface BetterSqlite3FileOptions {
  /** Database file, or `:memory:`. */
  readonly filename: string;
  /** How long a statement waits for another connection's lock (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Open read-only (diagnostics). Default false. */
  readonly readonly?: boolean;
  /**
   * `PRAGMA synchronous` of this connection. Default `normal`: with WAL, a commit survives an
   * application crash and the database is never corrupted; only a power loss or OS crash can roll
   * back the last commits. Every transaction the sync engine runs is redone safely by the
   * protocol (re-push answers `already_committed`, re-pull skips by row version, an unfinished
   * snapshot is restaged), so `full` (an fsync per commit) only buys durability for app writes
   * made through this connection, at ~10–25 ms per commit.
   */
  readonly synchronous?: 'normal' | 'full';
  /** Not with `filename`. */
  readonly database?: never;
}

/**
 * Options to run on a better-sqlite3 `Database` the caller already opened (in-thread only: a
 * `Database` cannot move to another thread).
 *
 * The connection turns `foreign_keys` on (the driver contract needs it) and sets the busy
 * timeout only when `busyTimeoutMs` is given; the journal mode is left as the caller chose.
 * The caller keeps ownership: closing the connection does not close `database`.
 *
 * @example
 * ```ts
 * const database = new Database('app.db');
 * const options: BetterSqlite3DatabaseOptions = { database };
 * ```
 */
export interface BetterSqlite3DatabaseOptions {
  /** An open better-sqlite3 database. */
  readonly database: Database.Database;
  /** Busy timeout to set (ms). Default: leave the database's setting alone. */
  readonly busyTimeoutMs?: number;
  /** Not with `database`. */
  readonly filename?: never;
  /** Not with `database`: the caller opened it. */
  readonly readonly?: never;
  /** Not with `database`: the caller chose it. */
  readonly synchronous?: never;
}

/**
 * Either a file to open or a database to use.
 *
 * @example
 * ```ts
 * const byFile: BetterSqlite3ConnectionOptions = { filename: 'app.db' };
 * const byDatabase: BetterSqlite3ConnectionOptions = { database: new Database('app.db') };
 * ```
 */
export type BetterSqlite3ConnectionOptions =
  | BetterSqlite3FileOptions
  | BetterSqlite3DatabaseOptions;

/**
 * A better-sqlite3 connection in the `SyncSqliteConnection` shape, plus `get` (which stops at
 * the first row) and the underlying `database`.
 *
 * @example
 * ```ts
 * const conn: BetterSqlite3Connection = openBetterSqlite3Connection({ filename: 'app.db' });
 * conn.database.pragma('wal_checkpoint(TRUNCATE)');
 * ```
 */
export interface BetterSqlite3Connection extends SyncSqliteConnection {
  /** The underlying better-sqlite3 database. */
  readonly database: Database.Database;
  /** Runs one query and returns its first row, or `undefined`. */
  get<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): T | undefined;
}

type Statement = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_SIZE = 256;

function busyTimeout(ms: number): string {
  return `busy_timeout = ${Math.max(0, Math.trunc(ms))}`;
}

function openDatabase(options: BetterSqlite3ConnectionOptions): {
  db: Database.Database;
  owned: boolean;
} {
  if (options.database !== undefined) {
    const db = options.database;
    if (options.busyTimeoutMs !== undefined) db.pragma(busyTimeout(options.busyTimeoutMs));
    db.pragma('foreign_keys = ON');
    return { db, owned: false };
  }
  const db = new Database(options.filename, { readonly: options.readonly ?? false });
  try {
    db.pragma(busyTimeout(options.busyTimeoutMs ?? 5000));
    if (options.filename !== ':memory:' && !options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    }
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, owned: true };
}

/**
 * Opens a synchronous better-sqlite3 connection in the shape of `SyncSqliteConnection`: WAL,
 * `foreign_keys = ON`, a busy timeout, 64-bit safe integer reads and a prepared-statement cache.
 * With `{ database }` it runs on a database the caller opened (see
 * {@link BetterSqlite3DatabaseOptions}).
 *
 * @example
 * ```ts
 * const conn = openBetterSqlite3Connection({ filename: 'app.db' });
 * conn.run('INSERT INTO todos(id, title) VALUES (?, ?)', [id, 'milk']);
 * ```
 */
export function openBetterSqlite3Connection(
  options: BetterSqlite3ConnectionOptions,
): BetterSqlite3Connection {
  const { db, owned } = openDatabase(options);
  const cache = new Map<string, Statement>();

  function prepare(sql: string): Statement {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      stmt.safeIntegers(true);
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(sql, stmt);
    }
    return stmt;
  }

  return {
    name: 'better-sqlite3',
    database: db,
    run(sql, params): RunResult {
      const stmt = prepare(sql);
      // better-sqlite3 refuses run() on a statement that returns rows (e.g. a PRAGMA that
      // reports its new value); the driver contract does not make callers care.
      if (stmt.reader) {
        stmt.all(...bindParams(params));
        return { changes: 0 };
      }
      return { changes: Number(stmt.run(...bindParams(params)).changes) };
    },
    all<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): T[] {
      const stmt = prepare(sql);
      if (!stmt.reader) {
        stmt.run(...bindParams(params));
        return [];
      }
      const rows = stmt.all(...bindParams(params)) as Record<string, unknown>[];
      for (const row of rows) readRow(row);
      return rows as T[];
    },
    get<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): T | undefined {
      const stmt = prepare(sql);
      if (!stmt.reader) {
        stmt.run(...bindParams(params));
        return undefined;
      }
      const row = stmt.get(...bindParams(params)) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : (readRow(row) as T);
    },
    exec(sql) {
      db.exec(sql);
    },
    runBatch(sql, paramSets) {
      const stmt = prepare(sql);
      let changes = 0;
      for (const params of paramSets) {
        if (stmt.reader) stmt.all(...bindParams(params));
        else changes += Number(stmt.run(...bindParams(params)).changes);
      }
      return changes;
    },
    close() {
      cache.clear();
      if (owned && db.open) db.close();
    },
  };
}
