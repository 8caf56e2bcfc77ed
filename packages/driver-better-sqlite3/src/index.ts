/**
 * `@oversync/driver-better-sqlite3`: the Node driver of `@oversync/client` on better-sqlite3 12,
 * in-thread or in a worker thread.
 *
 * @module
 */

import { fromSyncConnection, type SqliteDriver } from '@oversync/client';
import {
  type BetterSqlite3DatabaseOptions,
  type BetterSqlite3FileOptions,
  openBetterSqlite3Connection,
} from './sync-connection.js';
import { createWorkerDriver, type WorkerDriverOptions } from './worker-driver.js';

export type { BetterSqlite3Connection, BetterSqlite3ConnectionOptions } from './sync-connection.js';
export { openBetterSqlite3Connection } from './sync-connection.js';
export type { WorkerDriverOptions } from './worker-driver.js';
export { createWorkerDriver } from './worker-driver.js';
export type { BetterSqlite3DatabaseOptions, BetterSqlite3FileOptions };

/**
 * Options of {@link createBetterSqlite3Driver}: a file (in-thread, or in a worker thread with
 * `worker: true`) or an already open `database` (in-thread only).
 *
 * @example
 * ```ts
 * const inThread: BetterSqlite3DriverOptions = { filename: 'todo.db' };
 * const inWorker: BetterSqlite3DriverOptions = { filename: 'todo.db', worker: true };
 * const existing: BetterSqlite3DriverOptions = { database: new Database('todo.db') };
 * ```
 */
export type BetterSqlite3DriverOptions =
  | (BetterSqlite3FileOptions & { readonly worker?: false })
  | (BetterSqlite3DatabaseOptions & { readonly worker?: false })
  | (WorkerDriverOptions & { readonly worker: true });

/**
 * Creates a better-sqlite3 driver.
 *
 * - `{ filename }` opens its own connection in this thread (WAL, `foreign_keys = ON`, busy
 *   timeout): the lowest latency per call, but every statement blocks the event loop while it
 *   runs, and an open failure throws here.
 * - `{ filename, worker: true }` runs the connection in a `node:worker_threads` Worker (see
 *   {@link createWorkerDriver}): statements never block the event loop, at the cost of one
 *   message round trip per call; an open failure rejects the calls.
 * - `{ database }` runs in this thread on a better-sqlite3 `Database` you opened; it turns
 *   `foreign_keys` on, and `close()` leaves the database open for you to close.
 *
 * @example
 * ```ts
 * const driver = createBetterSqlite3Driver({ filename: 'todo.db', worker: true });
 * const client = createOversyncClient({ driver, baseUrl, getToken, tables });
 * ```
 */
export function createBetterSqlite3Driver(options: BetterSqlite3DriverOptions): SqliteDriver {
  if (options.worker === true) {
    if ((options as { database?: unknown }).database !== undefined) {
      throw new TypeError('worker mode opens its own connection: pass `filename`, not `database`');
    }
    return createWorkerDriver(options);
  }
  return fromSyncConnection(openBetterSqlite3Connection(options));
}
