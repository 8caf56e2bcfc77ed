/**
 * `@oversync/client`: the platform-neutral oversync SQLite client engine.
 *
 * @module
 */

export type {
  RunResult,
  SqlExecutor,
  SqliteDriver,
  SqlRow,
  SqlValue,
  SyncSqliteConnection,
  TransactionOptions,
} from './driver/driver.js';
export { fromSyncConnection } from './driver/from-sync-connection.js';
export type { ClientErrorCategory, ClientErrorCode, ClientErrorDetails } from './errors.js';
export {
  CLIENT_ERROR_CODES,
  clientError,
  isOversyncClientError,
  OversyncClientError,
} from './errors.js';
export type {
  ColumnKind,
  LocalSchema,
  ManagedColumn,
  ManagedForeignKey,
  ManagedTable,
} from './local/local-schema-types.js';
