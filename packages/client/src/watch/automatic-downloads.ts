/**
 * Automatic downloads: keep local state close to the server without the app calling pull.
 *
 * When the server advertises `features.bundle_change_watch`, an SSE stream from the durable
 * checkpoint wakes a pull on every newer bundle (events are hints; data always comes through
 * pull). A healthy open stream suppresses timer polling. Stream end or setup failure → one
 * fallback pull, then reconnect with jittered exponential backoff, reset once a stream stayed
 * healthy. Without watch support the loop polls every `pollIntervalMs`.
 *
 * @module
 */

import type { EngineContext } from '../engine-context.js';
import { isOversyncClientError } from '../errors.js';
import type { PullReport } from '../pull/pull-workflow.js';
import { callRemote } from '../remote/call.js';
import type { WatchStream } from '../remote/remote-api.js';

/**
 * Options of automatic downloads.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * client.startAutomaticDownloads({ signal: controller.signal });
 * ```
 */
export interface AutomaticDownloadsOptions {
  /** Stops the loop when aborted (same as `handle.stop()`). */
  readonly signal?: AbortSignal;
}

/**
 * A running automatic-download loop.
 *
 * @example
 * ```ts
 * const downloads = client.startAutomaticDownloads();
 * await downloads.stop();
 * ```
 */
export interface AutomaticDownloadsHandle {
  readonly running: boolean;
  /** Stops the loop and closes an open stream; resolves once it has stopped. */
  stop(): Promise<void>;
  /** Resolves when the loop ends; rejects with a terminal error (protocol mismatch). */
  readonly done: Promise<void>;
}

/**
 * What the loop needs from the client.
 *
 * @example
 * ```ts
 * const deps: AutomaticDownloadsDeps = {
 *   pull: (signal) => client.pullToStable({ signal }),
 *   checkpoint: async () => (await readAttachment(db)).lastBundleSeqSeen,
 *   sourceId: async () => (await readAttachment(db)).currentSourceId };
 * ```
 */
export interface AutomaticDownloadsDeps extends AutomaticDownloadsOptions {
  /** Runs a pull under the client's lock; `undefined` when another operation held it. */
  pull(signal: AbortSignal): Promise<PullReport | undefined>;
  checkpoint(): Promise<number>;
  sourceId(): Promise<string>;
}

const TERMINAL = new Set(['protocol_version_mismatch', 'table_contract_mismatch', 'closed']);

/**
 * Starts the loop.
 *
 * @example
 * ```ts
 * const handle = startAutomaticDownloads(ctx, deps);
 * await handle.stop();
 * ```
 */
export function startAutomaticDownloads(
  ctx: EngineContext,
  deps: AutomaticDownloadsDeps,
): AutomaticDownloadsHandle {
  const controller = new AbortController();
  const signal = controller.signal;
  const onOuterAbort = (): void => controller.abort();
  deps.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let running = true;
  let stream: WatchStream | undefined;
  let watchForbidden = false;
  let backoff = ctx.watch.reconnectMinMs;

  const nextBackoff = (): number => {
    const base = backoff;
    backoff = Math.min(backoff * 2, ctx.watch.reconnectMaxMs);
    // Full jitter on top of the base spreads reconnect storms after a server restart.
    return base + Math.floor(ctx.random() * base);
  };

  const pullOnce = async (): Promise<void> => {
    try {
      await deps.pull(signal);
    } catch (error) {
      if (signal.aborted) return;
      if (isOversyncClientError(error) && TERMINAL.has(error.code)) throw error;
      ctx.events.emit('error', { error, during: 'automatic download pull' });
      ctx.logger.warn({ err: error }, 'oversync: automatic download pull failed');
    }
  };

  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      let useWatch = ctx.watch.useWatch && !watchForbidden;
      if (useWatch) {
        try {
          const sourceId = await deps.sourceId();
          const caps = await callRemote(
            ctx,
            () => ctx.remote.capabilities({ sourceId, signal }),
            signal,
          );
          useWatch = caps.features.bundle_change_watch === true;
        } catch (error) {
          if (signal.aborted) return;
          ctx.events.emit('error', { error, during: 'automatic download capabilities' });
          await pullOnce();
          await ctx.sleep(nextBackoff(), signal).catch(() => undefined);
          continue;
        }
      }
      if (!useWatch) {
        await pullOnce();
        backoff = ctx.watch.reconnectMinMs;
        await ctx.sleep(ctx.watch.pollIntervalMs, signal).catch(() => undefined);
        continue;
      }

      const openedAt = ctx.now();
      try {
        const sourceId = await deps.sourceId();
        // No pull on open: the server queues an initial event when it is already past the
        // checkpoint, and a healthy open stream must not cost a request by itself
        // (watch/behavior/automatic-downloads.json `held-open-healthy-stream-…`).
        stream = await ctx.remote.watch({ sourceId, signal }, await deps.checkpoint());
        for await (const item of stream) {
          if (signal.aborted) break;
          if (item.type !== 'bundle') continue;
          if (item.event.bundle_seq > (await deps.checkpoint())) await pullOnce();
        }
      } catch (error) {
        if (signal.aborted) return;
        if (isOversyncClientError(error) && TERMINAL.has(error.code)) throw error;
        if (
          isOversyncClientError(error, 'http_error') &&
          error.details.serverError === 'bundle_change_watch_forbidden'
        ) {
          watchForbidden = true;
        }
        ctx.events.emit('error', { error, during: 'watch stream' });
      } finally {
        await stream?.close().catch(() => undefined);
        stream = undefined;
      }
      if (signal.aborted) return;
      // Stream ended or failed: one fallback pull, then reconnect after a backoff.
      await pullOnce();
      if (ctx.now() - openedAt >= ctx.watch.healthyStreamMs) backoff = ctx.watch.reconnectMinMs;
      await ctx.sleep(nextBackoff(), signal).catch(() => undefined);
    }
  };

  const done = loop().finally(() => {
    running = false;
    deps.signal?.removeEventListener('abort', onOuterAbort);
  });
  // The handle owner observes `done`; an unobserved rejection must not crash the process.
  done.catch((error) => ctx.events.emit('error', { error, during: 'automatic downloads' }));

  return {
    get running() {
      return running;
    },
    async stop() {
      controller.abort();
      await stream?.close().catch(() => undefined);
      await done.catch(() => undefined);
    },
    done,
  };
}
