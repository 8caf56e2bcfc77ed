/**
 * Retry of transient transport failures: network errors, `502`/`503`/`504`, and `429` with a
 * `Retry-After`. Client errors (other 4xx) and protocol failures are never retried. Snapshot
 * capacity `429`s have their own budgeted policy (`withSnapshotCapacityRetry`) and are left to it.
 *
 * @module
 */

import { clientError, isOversyncClientError } from '../errors.js';

/**
 * Sleeps `ms` milliseconds; rejects with `aborted` as soon as `signal` fires.
 *
 * @example
 * ```ts
 * await abortableSleep(250, controller.signal);
 * ```
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(clientError('aborted', 'retry wait aborted', {}, signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(clientError('aborted', 'retry wait aborted', {}, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Server error codes of `429` answers owned by the snapshot capacity policy.
 *
 * @example
 * ```ts
 * SNAPSHOT_CAPACITY_ERROR_CODES.includes('snapshot_chunk_capacity'); // true
 * ```
 */
export const SNAPSHOT_CAPACITY_ERROR_CODES: readonly string[] = Object.freeze([
  'snapshot_build_capacity',
  'snapshot_chunk_capacity',
]);

/**
 * True for errors worth another attempt: `network_error`, `http_error` 502/503/504, and
 * `http_error` 429 carrying `Retry-After` (except snapshot capacity 429s).
 *
 * @example
 * ```ts
 * if (!isTransientError(error)) throw error;
 * ```
 */
export function isTransientError(error: unknown): boolean {
  if (!isOversyncClientError(error)) return false;
  if (error.code === 'network_error') return true;
  if (error.code !== 'http_error') return false;
  const status = error.details.status;
  if (status === 502 || status === 503 || status === 504) return true;
  return (
    status === 429 &&
    error.details.retryAfterSeconds !== undefined &&
    !SNAPSHOT_CAPACITY_ERROR_CODES.includes(String(error.details.serverError))
  );
}

/**
 * Options of {@link withTransientRetry}.
 *
 * @example
 * ```ts
 * const options: TransientRetryOptions = { maxAttempts: 5, signal: controller.signal };
 * ```
 */
export interface TransientRetryOptions {
  /** Attempts in total, including the first. Default 3; 1 disables retry. */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt. Default 150 ms; doubles per attempt. */
  readonly initialBackoffMs?: number;
  /** Cap of the exponential backoff. Default 1500 ms. */
  readonly maxBackoffMs?: number;
  /** Symmetric jitter fraction applied to the backoff (0.2 = ±20 %). Default 0.2. */
  readonly jitter?: number;
  /** Longest `Retry-After` honoured; a longer one ends retrying. Default 30 000 ms. */
  readonly maxRetryAfterMs?: number;
  /** Injected sleep (tests); default {@link abortableSleep}. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected uniform random in [0, 1) (tests); default `Math.random`. */
  readonly random?: () => number;
  /** Cancels waiting between attempts (`aborted`). */
  readonly signal?: AbortSignal;
  /** Called before each wait. */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

function requireNumber(value: number, name: string, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw clientError('configuration', `${name} must be a number >= ${min}, got ${value}`);
  }
}

/**
 * Runs `fn`, retrying transient failures ({@link isTransientError}) with capped exponential
 * backoff and jitter; a `Retry-After` raises the wait to at least that long. The last error is
 * rethrown unchanged when attempts run out; a non-transient error is rethrown at once.
 * `fn` receives the 1-based attempt number.
 *
 * @example
 * ```ts
 * const caps = await withTransientRetry(() => remote.capabilities(ctx), { signal: ctx.signal });
 * ```
 */
export async function withTransientRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: TransientRetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 3;
  const initialBackoffMs = options.initialBackoffMs ?? 150;
  const maxBackoffMs = options.maxBackoffMs ?? 1500;
  const jitter = options.jitter ?? 0.2;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw clientError(
      'configuration',
      `maxAttempts must be a positive integer, got ${maxAttempts}`,
    );
  }
  requireNumber(initialBackoffMs, 'initialBackoffMs', 0);
  requireNumber(maxBackoffMs, 'maxBackoffMs', 0);
  requireNumber(jitter, 'jitter', 0);
  if (jitter > 1) throw clientError('configuration', `jitter must be <= 1, got ${jitter}`);
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const { signal } = options;

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted === true) {
      throw clientError('aborted', 'operation aborted', {}, signal.reason);
    }
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isTransientError(error)) throw error;
      const backoff = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
      let delayMs = Math.max(0, Math.round(backoff * (1 + jitter * (2 * random() - 1))));
      const retryAfterSeconds = isOversyncClientError(error)
        ? error.details.retryAfterSeconds
        : undefined;
      if (retryAfterSeconds !== undefined) {
        const retryAfterMs = retryAfterSeconds * 1000;
        if (retryAfterMs > maxRetryAfterMs) throw error;
        delayMs = Math.max(delayMs, retryAfterMs);
      }
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, signal);
    }
  }
}
