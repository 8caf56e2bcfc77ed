import type {
  RunResult,
  SqlExecutor,
  SqliteDriver,
  SqlRow,
  SqlValue,
  SyncSqliteConnection,
  TransactionOptions,
} from './driver.js';

/**
 * Wraps a synchronous connection as an async {@link SqliteDriver}, serialising callers so that a
 * statement issued by one caller never lands inside another caller's open transaction.
 *
 * @example
 * ```ts
 * const driver = fromSyncConnection(mySyncConnection);
 * await driver.transaction(async (tx) => tx.run('DELETE FROM todos'));
 * ```
 */
export function fromSyncConnection(conn: SyncSqliteConnection): SqliteDriver {
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;

  const direct: SqlExecutor = {
    run: async (sql, params) => conn.run(sql, params),
    all: async <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      conn.all<T>(sql, params),
    get: async <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      conn.all<T>(sql, params)[0],
    exec: async (sql) => conn.exec(sql),
    runBatch: async (sql, paramSets) => {
      if (conn.runBatch) return conn.runBatch(sql, paramSets);
      let changes = 0;
      for (const params of paramSets) changes += conn.run(sql, params).changes;
      return changes;
    },
  };

  // Every call queues behind the previous one; a failure does not poison the queue.
  function serial<T>(work: () => Promise<T> | T): Promise<T> {
    const next = tail.then(() => {
      if (closed) throw new Error('SQLite driver is closed');
      return work();
    });
    tail = next.catch(() => undefined);
    return next;
  }

  return {
    name: conn.name,
    run: (sql, params): Promise<RunResult> => serial(() => conn.run(sql, params)),
    all: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      serial(() => conn.all<T>(sql, params)),
    get: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      serial(() => conn.all<T>(sql, params)[0]),
    exec: (sql) => serial(() => conn.exec(sql)),
    runBatch: (sql, paramSets) => serial(() => direct.runBatch(sql, paramSets)),
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions) =>
      serial(async () => {
        conn.exec(options?.mode === 'deferred' ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          conn.exec('COMMIT');
          return result;
        } catch (error) {
          try {
            conn.exec('ROLLBACK');
          } catch {
            // SQLite already rolled back (e.g. after SQLITE_FULL); the original error matters.
          }
          throw error;
        }
      }),
    close: () =>
      serial(() => {
        if (!closed) {
          closed = true;
          conn.close();
        }
      }).catch(() => undefined),
  };
}
