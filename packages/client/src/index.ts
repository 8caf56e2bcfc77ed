/**
 * `@oversync/client`: the platform-neutral oversync SQLite client engine.
 *
 * @example
 * ```ts
 * import { createOversyncClient } from '@oversync/client';
 * import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
 *
 * const client = createOversyncClient({
 *   driver: createBetterSqlite3Driver({ filename: 'todo.db' }),
 *   baseUrl: 'http://localhost:8080',
 *   getToken: () => token,
 *   tables: [{ tableName: 'todos', syncKeyColumnName: 'id' }],
 * });
 * await client.open();
 * await client.attach('user-1');
 * await client.sync();
 * ```
 *
 * @module
 */

export type {
  OperationOptions,
  RebuildReport,
  SyncReport,
  SyncThenDetachResult,
} from './client.js';
export { createOversyncClient, OversyncClient } from './client.js';
export type {
  ClientLimits,
  ClientLogger,
  OversyncClientOptions,
  RetryOptions,
  SyncTableConfig,
  WatchOptions,
} from './config.js';
export { DEFAULT_LIMITS, DEFAULT_RETRY, DEFAULT_WATCH } from './config.js';
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
  ClientEvents,
  ClientListener,
  ClientPhase,
  ProgressEvent,
  TablesChangedEvent,
} from './events/emitter.js';
export type { AttachOutcome, AttachResult } from './lifecycle/attach.js';
export type { DetachResult } from './lifecycle/detach.js';
export type { PendingSyncStatus, SourceInfo, SyncStatus } from './lifecycle/status.js';
export type {
  ColumnKind,
  LocalSchema,
  ManagedColumn,
  ManagedForeignKey,
  ManagedTable,
} from './local/local-schema-types.js';
export type { PullReport } from './pull/pull-workflow.js';
export type {
  ConflictContext,
  ConflictResolution,
  ConflictResolver,
} from './push/conflict-resolver.js';
export { clientWins, serverWins } from './push/conflict-resolver.js';
export type { PushReport } from './push/push-workflow.js';
export type {
  CreatePushSessionInput,
  RemoteApi,
  RequestContext,
  WatchStream,
  WatchStreamItem,
} from './remote/remote-api.js';
export type { RestoreSummary } from './snapshot/rebuild.js';
export type {
  AutomaticDownloadsHandle,
  AutomaticDownloadsOptions,
} from './watch/automatic-downloads.js';
