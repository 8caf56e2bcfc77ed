/**
 * Options of `createOversyncClient` and their defaults.
 *
 * @module
 */

import type { SqliteDriver } from './driver/driver.js';
import type { ConflictResolver } from './push/conflict-resolver.js';

/**
 * One managed table: its name and its single sync key column (a NOT NULL TEXT or BLOB PK).
 *
 * @example
 * ```ts
 * const tables: SyncTableConfig[] = [{ tableName: 'todos', syncKeyColumnName: 'id' }];
 * ```
 */
export interface SyncTableConfig {
  readonly tableName: string;
  readonly syncKeyColumnName: string;
}

/**
 * Minimal structural logger (pino, console and most loggers fit).
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, logger: pino() });
 * ```
 */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Transfer sizes. Defaults follow the SQLiteNow clients.
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, limits: { uploadRows: 50 } });
 * ```
 */
export interface ClientLimits {
  /** Rows per push chunk (default 200). */
  readonly uploadRows: number;
  /** Bundles per pull request and rows per committed-bundle page (default 1000). */
  readonly downloadBundles: number;
  /**
   * Requested rows per snapshot chunk (default 4000, capped by the server's
   * `max_rows_per_snapshot_chunk`): fewer round trips per hydration; a chunk is still bounded by
   * `snapshotChunkBytes`.
   */
  readonly snapshotChunkRows: number;
  /** Requested bytes per snapshot chunk (default 4 MiB, capped by the server). */
  readonly snapshotChunkBytes: number;
  /** Rows per statement batch when applying a snapshot (default 2000). */
  readonly snapshotApplyBatchRows: number;
}

/**
 * Automatic downloads (watch + fallback polling).
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, watch: { useWatch: false, pollIntervalMs: 30_000 } });
 * ```
 */
export interface WatchOptions {
  /** Use the SSE watch stream when the server offers it (default true). */
  readonly useWatch: boolean;
  /** Poll interval when no watch stream is open (default 60 s). */
  readonly pollIntervalMs: number;
  /** Reconnect backoff bounds (default 1 s … 60 s, doubling, with jitter). */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** A stream that stayed open this long resets the backoff (default 30 s). */
  readonly healthyStreamMs: number;
}

/**
 * Retry of transient failures (network errors, 502/503/504, 429).
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, retry: { maxAttempts: 5 } });
 * ```
 */
export interface RetryOptions {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * Options of `createOversyncClient`.
 *
 * @example
 * ```ts
 * const client = createOversyncClient({
 *   driver: createBetterSqlite3Driver({ filename: 'todo.db' }),
 *   baseUrl: 'http://localhost:8080',
 *   getToken: async () => session.token,
 *   tables: [{ tableName: 'todos', syncKeyColumnName: 'id' }],
 * });
 * ```
 */
export interface OversyncClientOptions {
  readonly driver: SqliteDriver;
  /** Server base URL; a path prefix is kept (`https://api.example.com/v1`). */
  readonly baseUrl: string | URL;
  /** Bearer token for each request (called per request, so refreshed tokens are picked up). */
  readonly getToken?: () => string | undefined | Promise<string | undefined>;
  /** Sync schema name the server registered the tables under (default `main`). */
  readonly schema?: string;
  readonly tables: readonly SyncTableConfig[];
  /** Injected `fetch` (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly logger?: ClientLogger;
  /** Push-conflict resolver (default server wins). */
  readonly resolver?: ConflictResolver;
  /** Automatic re-pushes after resolving a conflict (default 2, i.e. 3 attempts). */
  readonly maxConflictRetries?: number;
  readonly limits?: Partial<ClientLimits>;
  readonly watch?: Partial<WatchOptions>;
  readonly retry?: Partial<RetryOptions>;
  /** Snapshot capacity (429) retry budget in ms (default 30 000). */
  readonly snapshotCapacityRetryMs?: number;
  /** Injected randomness and time, for deterministic tests. */
  readonly randomUUID?: () => string;
  readonly random?: () => number;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Default transfer sizes.
 *
 * @example
 * ```ts
 * const limits: ClientLimits = { ...DEFAULT_LIMITS, uploadRows: 50 };
 * ```
 */
export const DEFAULT_LIMITS: ClientLimits = {
  uploadRows: 200,
  downloadBundles: 1000,
  snapshotChunkRows: 4000,
  snapshotChunkBytes: 4 * 1024 * 1024,
  snapshotApplyBatchRows: 2000,
};

/**
 * Default automatic-download settings.
 *
 * @example
 * ```ts
 * const watch: WatchOptions = { ...DEFAULT_WATCH, pollIntervalMs: 10_000 };
 * ```
 */
export const DEFAULT_WATCH: WatchOptions = {
  useWatch: true,
  pollIntervalMs: 60_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  healthyStreamMs: 30_000,
};

/**
 * Default transient retry.
 *
 * @example
 * ```ts
 * const retry: RetryOptions = { ...DEFAULT_RETRY, maxAttempts: 5 };
 * ```
 */
export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 3,
  initialBackoffMs: 150,
  maxBackoffMs: 1_500,
};

const silent = (): void => undefined;
/**
 * A logger that drops everything (the default).
 *
 * @example
 * ```ts
 * const logger = options.logger ?? SILENT_LOGGER;
 * ```
 */
export const SILENT_LOGGER: ClientLogger = {
  debug: silent,
  info: silent,
  warn: silent,
  error: silent,
};

/**
 * Sleep that resolves early with an `aborted` rejection when the signal fires.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await defaultSleep(1_000, controller.signal);
 * ```
 */
export function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
