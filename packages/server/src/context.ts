import type { BundleLimits } from '@oversync/protocol';
import type { Catalog } from './bootstrap/catalog.js';
import type { Queryable, SyncDatabase, TransactionOptions } from './db/sync-database.js';
import type { Dialect } from './render/dialect.js';
import type { G1HashCache } from './render/g1-rows.js';
import type { Logger } from './util/logger.js';
import type { WatchHub } from './watch/watch-hub.js';

/** Everything the endpoint implementations share, built once by the service. */
export interface ServiceContext {
  readonly db: SyncDatabase;
  readonly catalog: Catalog;
  readonly limits: Readonly<BundleLimits>;
  readonly logger: Logger;
  readonly hub: WatchHub;
  readonly appName: string;
  readonly schemaVersion: number;
  readonly watchEnabled: boolean;
  /** The wire generation of the mount serving this request. */
  readonly dialect: Dialect;
  /** G1 bundle hashes already computed (committed bundles never change). */
  readonly g1Hashes: G1HashCache;
  /** The clock; every lease and expiry uses it so tests can move time. */
  now(): Date;
  /** Random lowercase UUIDs for push, snapshot and initialization ids. */
  randomUUID(): string;
  /** Runs a write transaction with retries on serialization failures and deadlocks. */
  writeTx<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
}

/** An authenticated caller. */
export interface Actor {
  userId: string;
  sourceId: string;
}
