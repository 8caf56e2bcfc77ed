/**
 * `@oversync/driver-better-sqlite3`: the Node driver of `@oversync/client` on better-sqlite3 12.
 *
 * @module
 */

import { fromSyncConnection, type SqliteDriver } from '@oversync/client';
import {
  type BetterSqlite3ConnectionOptions,
  openBetterSqlite3Connection,
} from './sync-connection.js';

export type { BetterSqlite3ConnectionOptions } from './sync-connection.js';
export { openBetterSqlite3Connection } from './sync-connection.js';

/** Options of {@link createBetterSqlite3Driver}. */
export interface BetterSqlite3DriverOptions extends BetterSqlite3ConnectionOptions {}

/**
 * Creates a driver that owns its own better-sqlite3 connection to `filename`.
 *
 * @example
 * ```ts
 * const driver = createBetterSqlite3Driver({ filename: 'todo.db' });
 * const client = createOversyncClient({ driver, baseUrl, getToken, tables });
 * ```
 */
export function createBetterSqlite3Driver(options: BetterSqlite3DriverOptions): SqliteDriver {
  return fromSyncConnection(openBetterSqlite3Connection(options));
}
