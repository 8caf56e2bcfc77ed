/**
 * The resolved dependencies every workflow receives. Built once by `createOversyncClient`.
 *
 * @module
 */

import type { ClientLimits, ClientLogger, RetryOptions, WatchOptions } from './config.js';
import type { SqliteDriver } from './driver/driver.js';
import type { ClientEventEmitter } from './events/emitter.js';
import type { LocalSchema } from './local/local-schema-types.js';
import type { ConflictResolver } from './push/conflict-resolver.js';
import type { RemoteApi } from './remote/remote-api.js';

/**
 * Dependencies and settings shared by the workflows.
 *
 * @example
 * ```ts
 * const attachment = await readAttachment(ctx.db);
 * ctx.logger.info({ seq: attachment.lastBundleSeqSeen }, 'checkpoint');
 * ```
 */
export interface EngineContext {
  readonly db: SqliteDriver;
  readonly remote: RemoteApi;
  /** Set by `open()`. */
  schema: LocalSchema;
  readonly limits: ClientLimits;
  readonly retry: RetryOptions;
  readonly watch: WatchOptions;
  readonly logger: ClientLogger;
  readonly resolver: ConflictResolver;
  readonly maxConflictRetries: number;
  readonly snapshotCapacityRetryMs: number;
  readonly randomUUID: () => string;
  readonly random: () => number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly events: ClientEventEmitter;
}
