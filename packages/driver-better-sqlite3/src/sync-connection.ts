import type { RunResult, SqlRow, SqlValue, SyncSqliteConnection } from '@oversync/client';
import Database from 'better-sqlite3';

/** Options shared by the in-thread and worker modes. */
export interface BetterSqlite3ConnectionOptions {
  /** Database file, or `:memory:`. */
  readonly filename: string;
  /** How long a statement waits for another connection's lock (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Open read-only (diagnostics). Default false. */
  readonly readonly?: boolean;
}

type Statement = Database.Statement<unknown[], unknown>;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** Safe integers as numbers, the rest as bigint: int64 never loses precision. */
function normalizeValue(value: unknown): SqlValue {
  if (typeof value === 'bigint') {
    return value <= MAX_SAFE && value >= MIN_SAFE ? Number(value) : value;
  }
  if (value instanceof Uint8Array) return value;
  return value as SqlValue;
}

function normalizeRow(row: Record<string, unknown>): SqlRow {
  for (const key in row) row[key] = normalizeValue(row[key]);
  return row as SqlRow;
}

// better-sqlite3 binds every JS number as REAL; integers must bind as INTEGER so that
// `typeof(x) = 'integer'` and INTEGER PRIMARY KEY lookups behave as in every other driver.
function bindValue(value: SqlValue): unknown {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return value;
}

function bindParams(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params) return [];
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) out[i] = bindValue(params[i] as SqlValue);
  return out;
}

/**
 * Opens a synchronous better-sqlite3 connection in the shape of `SyncSqliteConnection`: WAL,
 * `foreign_keys = ON`, a busy timeout, 64-bit safe integer reads and a prepared-statement cache.
 *
 * @example
 * ```ts
 * const conn = openBetterSqlite3Connection({ filename: 'app.db' });
 * conn.run('INSERT INTO todos(id, title) VALUES (?, ?)', [id, 'milk']);
 * ```
 */
export function openBetterSqlite3Connection(
  options: BetterSqlite3ConnectionOptions,
): SyncSqliteConnection & { readonly database: Database.Database } {
  const db = new Database(options.filename, { readonly: options.readonly ?? false });
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  if (options.filename !== ':memory:' && !options.readonly) db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  const cache = new Map<string, Statement>();

  function prepare(sql: string): Statement {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      stmt.safeIntegers(true);
      if (cache.size >= 256) {
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
      for (const row of rows) normalizeRow(row);
      return rows as T[];
    },
    exec(sql) {
      db.exec(sql);
    },
    runBatch(sql, paramSets) {
      const stmt = prepare(sql);
      let changes = 0;
      for (const params of paramSets) changes += Number(stmt.run(...bindParams(params)).changes);
      return changes;
    },
    close() {
      cache.clear();
      if (db.open) db.close();
    },
  };
}
