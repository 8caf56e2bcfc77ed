import { SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import { readUser } from '../lifecycle/user-state.js';
import { readIntParam } from '../util/query-params.js';
import type { WatchEvent, WatchSubscriber } from './watch-hub.js';

function frame(e: WatchEvent): string {
  const parts = [`"bundle_seq":${e.bundleSeq}`];
  if (e.sourceId) parts.push(`"source_id":${JSON.stringify(e.sourceId)}`);
  if (e.sourceBundleId) parts.push(`"source_bundle_id":${e.sourceBundleId}`);
  return `event: bundle\ndata: {${parts.join(',')}}\n\n`;
}

/**
 * `GET /sync/watch`: a Server-Sent Events stream of bundle wake-ups for the caller.
 * Subscribes first and reads the latest bundle second, so no commit can slip between.
 */
export async function openWatch(
  ctx: ServiceContext,
  actor: Actor,
  params: URLSearchParams,
  signal: AbortSignal,
  heartbeatMs: number,
): Promise<ReadableStream<Uint8Array>> {
  if (!ctx.watchEnabled)
    throw new SyncError('bundle_change_watch_disabled', 'bundle change watch is disabled');
  const after = readIntParam(params, 'after_bundle_seq', 'invalid_request') ?? 0n;
  const user = await readUser(ctx.db, actor.userId, ctx.now());
  requireInitialized(user);
  const encoder = new TextEncoder();
  let wakeUp: () => void = () => undefined;
  const sub: WatchSubscriber = {
    lastSeq: after,
    pending: null,
    closed: false,
    wake: () => wakeUp(),
  };
  const unsubscribe = ctx.hub.subscribe(user.userPk, sub, actor.userId);
  const latest = await readUser(ctx.db, actor.userId, ctx.now());
  if (latest) ctx.hub.publish(latest.userPk, { bundleSeq: BigInt(latest.nextBundleSeq) - 1n });
  let timer: ReturnType<typeof setInterval> | undefined;
  const finish = (controller?: ReadableStreamDefaultController<Uint8Array>) => {
    if (timer) clearInterval(timer);
    unsubscribe();
    sub.closed = true;
    try {
      controller?.close();
    } catch {
      // already closed
    }
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const flush = () => {
        if (sub.closed || signal.aborted) {
          finish(controller);
          return;
        }
        const e = sub.pending;
        if (e) {
          sub.pending = null;
          controller.enqueue(encoder.encode(frame(e)));
        }
      };
      wakeUp = flush;
      controller.enqueue(encoder.encode(': connected\n\n'));
      timer = setInterval(() => {
        if (sub.closed || signal.aborted) finish(controller);
        else controller.enqueue(encoder.encode(': heartbeat\n\n'));
      }, heartbeatMs);
      timer.unref?.();
      signal.addEventListener('abort', () => finish(controller), { once: true });
      flush();
    },
    cancel() {
      finish();
    },
  });
}
