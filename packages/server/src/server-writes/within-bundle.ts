import { SyncError } from '@oversync/protocol';
import { drainCaptured, openBundleContext } from '../capture/bundle-context.js';
import { type CommittedBundle, writeBundle } from '../capture/bundle-writer.js';
import { mapBusinessError } from '../capture/business-errors.js';
import { normalizeCaptured } from '../capture/normalize.js';
import type { ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import {
  lockUser,
  markInitialized,
  SCOPE_INITIALIZING,
  SCOPE_UNINITIALIZED,
} from '../lifecycle/user-state.js';
import { expectedSourceBundleId } from '../push/source-state.js';

/** Metadata of a bundle committed by server code. */
export interface ServerBundle {
  bundleSeq: string;
  sourceId: string;
  sourceBundleId: string;
  rowCount: number;
  bundleHash: string;
}

/** Thrown by `execWrite` when the callback changed no registered table. */
export class NoCapturedChangesError extends Error {
  override readonly name = 'NoCapturedChangesError';
}

function toServerBundle(b: CommittedBundle): ServerBundle {
  return {
    bundleSeq: b.bundleSeq,
    sourceId: b.sourceId,
    sourceBundleId: b.sourceBundleId,
    rowCount: b.rowCount,
    bundleHash: b.bundleHash,
  };
}

/**
 * Runs server code as one bundle of `userId` under an explicit source tuple. Not retried:
 * the callback's side effects must not run twice.
 */
export async function withinSyncBundle<T>(
  ctx: ServiceContext,
  target: { userId: string; sourceId: string; sourceBundleId: bigint | number | string },
  fn: (tx: Queryable) => Promise<T>,
  mode: { autoInitialize: boolean; requireChanges: boolean; allocateSourceBundleId: boolean },
): Promise<{ result: T; bundle: ServerBundle | null; autoInitialized: boolean }> {
  let committed: CommittedBundle | null = null;
  let out: { result: T; autoInitialized: boolean };
  try {
    out = await ctx.db.transaction(async (tx) => {
      const now = ctx.now();
      const user = await lockUser(tx, target.userId, now);
      let autoInitialized = false;
      if (mode.autoInitialize && user.scopeState === SCOPE_UNINITIALIZED) {
        await markInitialized(tx, user.userPk, target.sourceId, now);
        autoInitialized = true;
      } else if (mode.autoInitialize && user.scopeState === SCOPE_INITIALIZING) {
        throw new SyncError('scope_initializing', 'scope initialization is in progress');
      } else if (!mode.autoInitialize) {
        requireInitialized(user);
      }
      const expected = await expectedSourceBundleId(tx, user.userPk, target.sourceId, true);
      const sbid = mode.allocateSourceBundleId ? expected : BigInt(target.sourceBundleId);
      if (sbid < expected)
        throw new SyncError(
          'history_pruned',
          `source_bundle_id ${sbid} is below next expected ${expected}`,
        );
      if (sbid > expected)
        throw new SyncError(
          'source_sequence_out_of_order',
          `source_bundle_id ${sbid} skips ahead of ${expected}`,
        );
      await openBundleContext(tx, target.userId, user.userPk);
      const result = await fn(tx);
      const effects = normalizeCaptured(await drainCaptured(tx));
      if (effects.length === 0) {
        if (mode.requireChanges)
          throw new NoCapturedChangesError('the write changed no registered table');
        return { result, autoInitialized };
      }
      committed = await writeBundle(
        tx,
        ctx.catalog,
        {
          userPk: user.userPk,
          bundleSeq: user.nextBundleSeq,
          sourceId: target.sourceId,
          sourceBundleId: sbid.toString(),
          requestHash: null,
          maxSnapshotRowBytes: ctx.limits.max_bytes_per_snapshot_row,
        },
        effects,
      );
      return { result, autoInitialized };
    });
  } catch (err) {
    throw mapBusinessError(err, 'invalid_request');
  }
  const bundle = committed as CommittedBundle | null;
  if (bundle) ctx.hub.announce(bundle);
  return {
    result: out.result,
    autoInitialized: out.autoInitialized,
    bundle: bundle ? toServerBundle(bundle) : null,
  };
}
