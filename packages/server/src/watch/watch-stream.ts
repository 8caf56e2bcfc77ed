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
  let waiter: (() => void) | null = null;
  const wakeUp = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const sub: WatchSubscriber = { lastSeq: after, pending: null, closed: false, wake: wakeUp };
  const unsubscribe = ctx.hub.subscribe(user.userPk, sub, actor.userId);
  const latest = await readUser(ctx.db, actor.userId, ctx.now());
  if (latest) ctx.hub.publish(latest.userPk, { bundleSeq: BigInt(latest.nextBundleSeq) - 1n });
  let heartbeatDue = false;
  let greeted = false;
  const timer = setInterval(() => {
    heartbeatDue = true;
    wakeUp();
  }, heartbeatMs);
  timer.unref?.();
  const onAbort = () => {
    sub.closed = true;
    wakeUp();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const finish = () => {
    clearInterval(timer);
    signal.removeEventListener('abort', onAbort);
    unsubscribe();
    sub.closed = true;
  };
  // Pull-based with no read-ahead: an event is taken from the subscriber's one-slot buffer
  // only when the client is ready for it, so a slow reader gets the newest event instead of
  // a growing backlog.
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!greeted) {
          greeted = true;
          controller.enqueue(encoder.encode(': connected\n\n'));
          return;
        }
        for (;;) {
          if (sub.closed || signal.aborted) {
            finish();
            controller.close();
            return;
          }
          const e = sub.pending;
          if (e) {
            sub.pending = null;
            controller.enqueue(encoder.encode(frame(e)));
            return;
          }
          if (heartbeatDue) {
            heartbeatDue = false;
            controller.enqueue(encoder.encode(': heartbeat\n\n'));
            return;
          }
          await new Promise<void>((resolve) => {
            waiter = resolve;
          });
        }
      },
      cancel() {
        finish();
      },
    },
    { highWaterMark: 0 },
  );
}
