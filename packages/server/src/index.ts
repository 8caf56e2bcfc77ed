/**
 * `@oversync/server`: the oversync sync server as a Web-standard handler over PostgreSQL
 * or PGlite.
 *
 * @module
 */

export {
  bearerToken,
  DEFAULT_DEV_TOKEN_TTL_SECONDS,
  type DevTokenOptions,
  type JwtAuthenticate,
  type JwtAuthOptions,
  type JwtPrincipal,
  jwtAuth,
  signDevToken,
} from './auth/index.js';
export { SyncLayoutError } from './bootstrap/bootstrap.js';
export type { RegisteredTable } from './bootstrap/table-info.js';
export { checkRegisteredTables, TableValidationError } from './bootstrap/validate-tables.js';
export type { Actor } from './context.js';
export { createPgDatabase, type PgDatabaseOptions } from './db/pg-database.js';
export { createPgliteDatabase, type PGliteLike } from './db/pglite-database.js';
export type {
  Queryable,
  QueryResult,
  SyncDatabase,
  TransactionOptions,
} from './db/sync-database.js';
export type { CorsOptions } from './http/cors.js';
export type { Dialect } from './render/dialect.js';
export { NoCapturedChangesError, type ServerBundle } from './server-writes/within-bundle.js';
export {
  type Authenticate,
  createSyncHandler,
  createSyncService,
  type Principal,
  type ScopeManager,
  type SyncService,
  type SyncServiceOptions,
} from './service.js';
export type { Logger } from './util/logger.js';
export { noopLogger } from './util/logger.js';
