/**
 * Runs one remote call with the client's transient-retry policy.
 *
 * @module
 */

import type { EngineContext } from '../engine-context.js';
import { withTransientRetry } from './transient-retry.js';

/**
 * Calls `fn` with transient retry (network errors, 502/503/504, 429) per the client options.
 *
 * @example
 * ```ts
 * const caps = await callRemote(ctx, () => ctx.remote.capabilities(req), signal);
 * ```
 */
export function callRemote<T>(
  ctx: EngineContext,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  return withTransientRetry(fn, {
    maxAttempts: ctx.retry.maxAttempts,
    initialBackoffMs: ctx.retry.initialBackoffMs,
    maxBackoffMs: ctx.retry.maxBackoffMs,
    sleep: ctx.sleep,
    random: ctx.random,
    ...(signal ? { signal } : {}),
  });
}
