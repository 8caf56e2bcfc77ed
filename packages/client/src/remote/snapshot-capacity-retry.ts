/**
 * Snapshot admission retry (`snapshot-capacity/retry.json`): a `429` whose error is
 * `snapshot_build_capacity` or `snapshot_chunk_capacity` is retried after the server's integer
 * `Retry-After` (else a 1 s fallback) plus a positive-only jitter of up to 100 % of that delay,
 * for at most 30 s of elapsed time in total.
 *
 * @module
 */

import { clientError, isOversyncClientError, type OversyncClientError } from '../errors.js';
import { parseRetryAfterSeconds } from './http-remote-api.js';
import { abortableSleep, SNAPSHOT_CAPACITY_ERROR_CODES } from './transient-retry.js';

/**
 * Defaults of the snapshot capacity policy, identical in Go, KMP and Dart.
 *
 * @example
 * ```ts
 * SNAPSHOT_CAPACITY_RETRY_DEFAULTS.maxWaitMs; // 30000
 * ```
 */
export const SNAPSHOT_CAPACITY_RETRY_DEFAULTS = Object.freeze({
  enabled: true,
  maxWaitMs: 30_000,
  fallbackDelayMs: 1000,
  jitterRatio: 1.0,
});

/**
 * The wait a `Retry-After` header asks for, in milliseconds, or `null` when the value is not
 * positive integer delta-seconds (empty, `0`, negative, fractional, HTTP-date): the fallback
 * delay applies then.
 *
 * @example
 * ```ts
 * retryAfterMillis('30'); // 30000
 * retryAfterMillis('1.5'); // null
 * ```
 */
export function retryAfterMillis(wire: string | null | undefined): number | null {
  const seconds = parseRetryAfterSeconds(wire);
  return seconds === undefined ? null : seconds * 1000;
}

/**
 * True for a snapshot admission rejection: `http_error` 429 whose `serverError` is
 * `snapshot_build_capacity` or `snapshot_chunk_capacity`.
 *
 * @example
 * ```ts
 * if (isSnapshotCapacityError(error)) console.info('server busy building snapshots');
 * ```
 */
export function isSnapshotCapacityError(error: unknown): error is OversyncClientError {
  return (
    isOversyncClientError(error, 'http_error') &&
    error.details.status === 429 &&
    SNAPSHOT_CAPACITY_ERROR_CODES.includes(String(error.details.serverError))
  );
}

/**
 * Options of {@link withSnapshotCapacityRetry}.
 *
 * @example
 * ```ts
 * const options: SnapshotCapacityRetryOptions = { maxWaitMs: 10_000, signal };
 * ```
 */
export interface SnapshotCapacityRetryOptions {
  /** `false` turns every capacity rejection into `snapshot_capacity_retry_exhausted` at once. */
  readonly enabled?: boolean;
  /** Elapsed-time budget across all attempts. Default 30 000 ms. */
  readonly maxWaitMs?: number;
  /** Base delay when `Retry-After` is absent or unusable. Default 1000 ms. */
  readonly fallbackDelayMs?: number;
  /** Jitter span as a fraction of the base delay, added (never subtracted). Default 1.0. */
  readonly jitterRatio?: number;
  /** Injected sleep (tests); default {@link abortableSleep}. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected monotonic clock in ms (tests); default `performance.now`. */
  readonly now?: () => number;
  /** Injected uniform random in [0, 1) (tests); default `Math.random`. */
  readonly random?: () => number;
  /** Cancels waiting (`aborted`). */
  readonly signal?: AbortSignal;
  /** Called before each wait. */
  readonly onRetry?: (info: { delayMs: number; elapsedMs: number; serverError: string }) => void;
}

/**
 * Runs `fn`, retrying snapshot capacity rejections ({@link isSnapshotCapacityError}).
 *
 * Each retry waits `base + jitter`, where `base` is the error's `Retry-After` (positive
 * delta-seconds) or `fallbackDelayMs`, and `jitter` is uniform in `[0, floor(base × jitterRatio)]`.
 * When that wait would not fit in what remains of `maxWaitMs` (measured from the first attempt),
 * the call fails with `snapshot_capacity_retry_exhausted` (`details.serverError`,
 * `details.waitedMs`, `cause` = the last rejection) instead of waiting. Other errors pass through.
 *
 * @example
 * ```ts
 * const session = await withSnapshotCapacityRetry(() => remote.createSnapshotSession(ctx), {
 *   signal: ctx.signal,
 * });
 * ```
 */
export async function withSnapshotCapacityRetry<T>(
  fn: () => Promise<T>,
  options: SnapshotCapacityRetryOptions = {},
): Promise<T> {
  const enabled = options.enabled ?? SNAPSHOT_CAPACITY_RETRY_DEFAULTS.enabled;
  const maxWaitMs = options.maxWaitMs ?? SNAPSHOT_CAPACITY_RETRY_DEFAULTS.maxWaitMs;
  const fallbackDelayMs =
    options.fallbackDelayMs ?? SNAPSHOT_CAPACITY_RETRY_DEFAULTS.fallbackDelayMs;
  const jitterRatio = options.jitterRatio ?? SNAPSHOT_CAPACITY_RETRY_DEFAULTS.jitterRatio;
  for (const [name, value] of [
    ['maxWaitMs', maxWaitMs],
    ['fallbackDelayMs', fallbackDelayMs],
    ['jitterRatio', jitterRatio],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw clientError('configuration', `${name} must be a non-negative number, got ${value}`);
    }
  }
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  const { signal } = options;
  const started = now();

  for (;;) {
    if (signal?.aborted === true) {
      throw clientError('aborted', 'snapshot request aborted', {}, signal.reason);
    }
    try {
      return await fn();
    } catch (error) {
      if (!isSnapshotCapacityError(error)) throw error;
      const serverError = String(error.details.serverError);
      const elapsedMs = Math.max(0, now() - started);
      const exhausted = (): OversyncClientError =>
        clientError(
          'snapshot_capacity_retry_exhausted',
          `snapshot capacity retry exhausted after ${Math.round(elapsedMs)} ms (${serverError})`,
          {
            status: 429,
            serverError,
            waitedMs: Math.round(elapsedMs),
            ...(error.details.retryAfterSeconds === undefined
              ? {}
              : { retryAfterSeconds: error.details.retryAfterSeconds }),
          },
          error,
        );
      if (!enabled) throw exhausted();
      const retryAfterSeconds = error.details.retryAfterSeconds;
      const base =
        typeof retryAfterSeconds === 'number' && retryAfterSeconds > 0
          ? retryAfterSeconds * 1000
          : fallbackDelayMs;
      const span = Math.floor(base * jitterRatio);
      const jitter = span === 0 ? 0 : Math.min(span, Math.floor(random() * (span + 1)));
      const delayMs = base + jitter;
      if (elapsedMs >= maxWaitMs || delayMs <= 0 || delayMs > maxWaitMs - elapsedMs) {
        throw exhausted();
      }
      options.onRetry?.({ delayMs, elapsedMs, serverError });
      await sleep(delayMs, signal);
    }
  }
}
