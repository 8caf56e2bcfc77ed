/**
 * The structural SQLite driver interface the client engine runs on. The engine never imports a
 * SQLite package: Node (better-sqlite3), browser (SQLite WASM) and React Native drivers implement
 * this shape, and every driver must pass the driver conformance suite of the test kit.
 *
 * @module
 */

/**
 * A value bound to or read from SQLite.
 *
 * Reads: INTEGER columns come back as `number` when the value is a safe integer
 * (|v| ≤ 2^53 − 1) and as `bigint` otherwise, so int64 never loses precision; REAL as `number`;
 * TEXT as `string`; BLOB as `Uint8Array`; NULL as `null`.
 * Binds: `bigint` and safe integer `number`s bind as INTEGER, other numbers as REAL,
 * `Uint8Array` as BLOB.
 *
 * @example
 * ```ts
 * const params: SqlValue[] = ['todo-1', 42, 2n ** 60n, new Uint8Array([1, 2]), null];
 * ```
 */
export type SqlValue = null | string | number | bigint | Uint8Array;

/**
 * One result row keyed by column name.
 *
 * @example
 * ```ts
 * const row: SqlRow | undefined = await db.get('SELECT id, title FROM todos WHERE id = ?', [id]);
 * ```
 */
export type SqlRow = Record<string, SqlValue>;

/**
 * What a data-changing statement reports.
 *
 * @example
 * ```ts
 * const { changes } = await db.run('DELETE FROM todos WHERE done = 1');
 * ```
 */
export interface RunResult {
  /** Rows changed by the statement (SQLite `changes()`). */
  readonly changes: number;
}

/**
 * Statement execution on one connection. Inside {@link SqliteDriver.transaction} the same shape
 * is handed to the callback and every call runs inside that transaction.
 *
 * @example
 * ```ts
 * const rows = await db.all<{ id: string }>('SELECT id FROM todos WHERE done = ?', [0]);
 * ```
 */
export interface SqlExecutor {
  /** Runs one statement with positional `?` parameters. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Runs one query and returns every row. */
  all<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs one query and returns its first row, or `undefined`. */
  get<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  /**
   * Runs one statement once per parameter set (prepared once). Returns the total of changes.
   * Worker-backed drivers send the whole batch in one message, so hot paths (apply, staging)
   * cost one round trip per batch instead of one per row.
   */
  runBatch(sql: string, paramSets: readonly (readonly SqlValue[])[]): Promise<number>;
}

/**
 * Options of {@link SqliteDriver.transaction}.
 *
 * @example
 * ```ts
 * const n = await db.transaction((tx) => tx.get('SELECT COUNT(*) AS n FROM todos'), { mode: 'deferred' });
 * ```
 */
export interface TransactionOptions {
  /**
   * `immediate` (default) takes the write lock at BEGIN, so a transaction that reads then writes
   * never fails half-way with SQLITE_BUSY; `deferred` is for read-only snapshots.
   */
  readonly mode?: 'immediate' | 'deferred';
}

/**
 * An async SQLite connection the client engine owns for its lifetime.
 *
 * Contract (checked by the driver conformance suite):
 * - calls are serialised: a call made while a transaction is open from another caller waits
 *   until that transaction ends (it is never run inside it);
 * - `transaction` commits when the callback resolves and rolls back when it rejects, then
 *   rethrows; nested `transaction` calls on the handed executor are not supported;
 * - PRAGMAs such as `defer_foreign_keys` issued inside a transaction apply to it;
 * - `foreign_keys` is ON for the connection;
 * - BLOBs read back as plain `Uint8Array` (not a platform buffer subclass);
 * - a failing statement rejects with an `Error` whose `code` is the SQLite extended result code
 *   name (`SQLITE_CONSTRAINT_FOREIGNKEY`, `SQLITE_BUSY` …) and whose message carries a trigger's
 *   `RAISE(ABORT, '…')` text.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await tx.run('UPDATE _sync_apply_state SET apply_mode = 1');
 *   await tx.run('DELETE FROM todos');
 *   await tx.run('UPDATE _sync_apply_state SET apply_mode = 0');
 * });
 * ```
 */
export interface SqliteDriver extends SqlExecutor {
  /** A short name for logs, e.g. `better-sqlite3` or `better-sqlite3 (worker)`. */
  readonly name: string;
  /** Runs `fn` in one transaction (see the contract above). */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Closes the connection; later calls reject. Idempotent. */
  close(): Promise<void>;
}

/**
 * A synchronous SQLite connection (the better-sqlite3 / op-sqlite `executeSync` shape). Wrap it
 * with {@link fromSyncConnection} to get a {@link SqliteDriver}.
 *
 * @example
 * ```ts
 * const driver = fromSyncConnection({ name: 'mine', run, all, exec, close });
 * ```
 */
export interface SyncSqliteConnection {
  readonly name: string;
  run(sql: string, params?: readonly SqlValue[]): RunResult;
  all<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): T[];
  exec(sql: string): void;
  runBatch?(sql: string, paramSets: readonly (readonly SqlValue[])[]): number;
  close(): void;
}
