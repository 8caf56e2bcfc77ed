/**
 * Worker mode: the better-sqlite3 connection lives in a `node:worker_threads` Worker, so a long
 * statement never blocks the caller's event loop.
 *
 * @module
 */

import type { Worker } from 'node:worker_threads';
import type {
  RunResult,
  SqlExecutor,
  SqliteDriver,
  SqlRow,
  SqlValue,
  TransactionOptions,
} from '@oversync/client';
import { startWorker } from './start-worker.js';
import type { BetterSqlite3FileOptions } from './sync-connection.js';
import { fromWireError } from './wire-error.js';
import type { WorkerRequest, WorkerResponse } from './worker-protocol.js';

/**
 * Options of {@link createWorkerDriver}: the file options of in-thread mode. (There is no heap
 * limit option: better-sqlite3 builds result rows in native code, where running out of a worker's
 * heap aborts the whole process instead of ending the worker.)
 *
 * @example
 * ```ts
 * const options: WorkerDriverOptions = { filename: 'app.db', busyTimeoutMs: 10_000 };
 * ```
 */
export type WorkerDriverOptions = BetterSqlite3FileOptions;

// Distributes `Omit` over the request union so each variant keeps its own fields.
type Request = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * Creates a driver whose connection runs in a worker thread. Calls are serialised on this side
 * (a queue), each call is one message, a `runBatch` is one message for the whole batch, and a
 * transaction holds the queue from BEGIN to COMMIT/ROLLBACK so other callers wait.
 *
 * Opening happens in the worker: an open failure rejects the calls instead of throwing here. If
 * the worker dies, pending and later calls reject; `close()` still resolves. The worker does not
 * keep the process alive while no call is pending.
 *
 * @example
 * ```ts
 * const driver = createWorkerDriver({ filename: 'app.db' });
 * const rows = await driver.all('SELECT id FROM todos');
 * await driver.close();
 * ```
 */
export function createWorkerDriver(options: WorkerDriverOptions): SqliteDriver {
  const worker: Worker = startWorker({
    init: {
      filename: options.filename,
      ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
      ...(options.readonly === undefined ? {} : { readonly: options.readonly }),
      ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    },
  });
  worker.unref();

  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  let failure: Error | undefined;
  let tail: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | undefined;

  function settle(id: number): Pending | undefined {
    const entry = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return entry;
  }

  function fail(error: Error): void {
    if (failure) return;
    failure = error;
    const entries = [...pending.values()];
    pending.clear();
    worker.unref();
    for (const entry of entries) entry.reject(error);
  }

  worker.on('message', (response: WorkerResponse) => {
    const entry = settle(response.id);
    if (!entry) return;
    if (response.ok) entry.resolve(response.value);
    else entry.reject(fromWireError(response.error));
  });
  worker.on('error', (error) => {
    fail(new Error(`better-sqlite3 worker failed: ${error.message}`, { cause: error }));
  });
  worker.on('messageerror', (error) => {
    fail(new Error(`better-sqlite3 worker sent an unreadable message: ${error.message}`));
  });
  worker.on('exit', (code) => {
    // After close() the exit is expected; otherwise (process.exit in the worker, a native
    // crash that still lets Node report it) nothing will ever answer the pending calls.
    fail(
      closed
        ? new Error('SQLite driver is closed')
        : new Error(`better-sqlite3 worker exited with code ${code}`),
    );
  });

  function call<T>(request: Request): Promise<T> {
    if (failure) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // Referenced only while a call is pending: awaiting a call keeps the process alive, an
      // idle driver does not (like an in-thread connection).
      worker.ref();
      try {
        worker.postMessage({ ...request, id });
      } catch (error) {
        // e.g. a parameter that structured clone cannot copy (a function, a symbol).
        settle(id);
        reject(error);
      }
    });
  }

  // Every call queues behind the previous one; a failure does not poison the queue.
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const next = tail.then(() => {
      if (closed) throw new Error('SQLite driver is closed');
      return work();
    });
    tail = next.catch(() => undefined);
    return next;
  }

  function executor(isOpen: () => boolean): SqlExecutor {
    function guarded<T>(request: Request): Promise<T> {
      if (!isOpen()) {
        return Promise.reject(new Error('the transaction this executor belongs to has ended'));
      }
      return call<T>(request);
    }
    return {
      run: (sql, params): Promise<RunResult> => guarded({ op: 'run', sql, params }),
      all: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
        guarded<T[]>({ op: 'all', sql, params }),
      get: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
        guarded<T | undefined>({ op: 'get', sql, params }),
      exec: (sql) => guarded<void>({ op: 'exec', sql }),
      runBatch: (sql, paramSets) => guarded<number>({ op: 'runBatch', sql, paramSets }),
    };
  }

  const direct = executor(() => true);

  return {
    name: 'better-sqlite3 (worker)',
    run: (sql, params) => serial(() => direct.run(sql, params)),
    all: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      serial(() => direct.all<T>(sql, params)),
    get: <T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]) =>
      serial(() => direct.get<T>(sql, params)),
    exec: (sql) => serial(() => direct.exec(sql)),
    runBatch: (sql, paramSets) => serial(() => direct.runBatch(sql, paramSets)),
    transaction: <T>(fn: (tx: SqlExecutor) => Promise<T>, txOptions?: TransactionOptions) =>
      serial(async () => {
        await call({ op: 'begin', mode: txOptions?.mode ?? 'immediate' });
        // Statements the callback leaves behind (not awaited) must not run outside the
        // transaction, after COMMIT, as if they belonged to whatever caller comes next.
        let open = true;
        try {
          let result: T;
          try {
            result = await fn(executor(() => open));
          } finally {
            open = false;
          }
          await call({ op: 'commit' });
          return result;
        } catch (error) {
          // A failed COMMIT (e.g. a deferred foreign key violation) leaves the transaction open.
          await call({ op: 'rollback' }).catch(() => undefined);
          throw error;
        }
      }),
    close: () => {
      closing ??= serial(async () => {
        closed = true;
        try {
          // Closing in the worker first checkpoints and releases the file cleanly.
          if (!failure) await call({ op: 'close' });
        } finally {
          await worker.terminate();
        }
      }).catch(() => undefined);
      return closing;
    },
  };
}
