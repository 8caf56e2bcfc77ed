/**
 * Incremental pull to a frozen stable ceiling: the first response's `stable_bundle_seq` becomes
 * the target of every later request, bundles are applied in order (one transaction each) and
 * `history_pruned` / `checkpoint_ahead` turn into a durable rebuild gate followed by a snapshot
 * rebuild.
 *
 * @module
 */

import type { EngineContext } from '../engine-context.js';
import { clientError, isOversyncClientError } from '../errors.js';
import { readAttachment, updateAttachment } from '../local/state-store.js';
import { callRemote } from '../remote/call.js';
import { validatePullResponse } from '../remote/validate-responses.js';
import { applyPulledBundle } from './apply-bundle.js';

/**
 * Result of a pull.
 *
 * @example
 * ```ts
 * const report = await client.pullToStable();
 * if (report.outcome !== 'already_at_target') refresh(report.updatedTables);
 * ```
 */
export interface PullReport {
  readonly outcome: 'already_at_target' | 'applied_incremental' | 'applied_snapshot';
  readonly lastBundleSeqSeen: number;
  readonly bundlesApplied: number;
  readonly rowsApplied: number;
  readonly updatedTables: readonly string[];
  /** Set when the pull fell back to a snapshot (`history_pruned` / `checkpoint_ahead`). */
  readonly recoveryReason?: 'history_pruned' | 'checkpoint_ahead';
}

/**
 * Signals that the checkpoint cannot be served incrementally and a rebuild is required.
 *
 * @example
 * ```ts
 * try { await pullToStable(ctx, signal); }
 * catch (e) { if (e instanceof CheckpointRecoveryNeeded) await rebuildFromSnapshot(ctx, { mode: 'keep_source' }); }
 * ```
 */
export class CheckpointRecoveryNeeded extends Error {
  constructor(readonly reason: 'history_pruned' | 'checkpoint_ahead') {
    super(`checkpoint recovery needed: ${reason}`);
  }
}

/**
 * Pulls to the server's stable bundle sequence. Throws {@link CheckpointRecoveryNeeded} after
 * persisting `rebuild_required = 1` when the server cannot serve the checkpoint.
 *
 * @example
 * ```ts
 * const { lastBundleSeqSeen, rowsApplied } = await pullToStable(ctx, signal);
 * ```
 */
export async function pullToStable(ctx: EngineContext, signal?: AbortSignal): Promise<PullReport> {
  const start = await readAttachment(ctx.db);
  const sourceId = start.currentSourceId;
  let checkpoint = start.lastBundleSeqSeen;
  let target: number | undefined;
  let bundles = 0;
  let rows = 0;
  const tables = new Set<string>();
  for (;;) {
    const after = checkpoint;
    const targetSeq = target;
    let resp: Awaited<ReturnType<EngineContext['remote']['pull']>>;
    try {
      resp = await callRemote(
        ctx,
        () =>
          ctx.remote.pull(
            { sourceId, ...(signal ? { signal } : {}) },
            {
              afterBundleSeq: after,
              maxBundles: ctx.limits.downloadBundles,
              ...(targetSeq === undefined ? {} : { targetBundleSeq: targetSeq }),
            },
          ),
        signal,
      );
    } catch (error) {
      if (isOversyncClientError(error, 'http_error')) {
        const code = error.details.serverError;
        if (code === 'history_pruned' || code === 'checkpoint_ahead') {
          await ctx.db.transaction((tx) => updateAttachment(tx, { rebuildRequired: true }));
          throw new CheckpointRecoveryNeeded(code);
        }
      }
      throw error;
    }
    // The frozen ceiling first, with the message the shared fixtures pin
    // (pull-snapshot/behavior/apply.json `pull-incremental-frozen-ceiling-change-rejected`).
    if (target !== undefined && resp.stable_bundle_seq !== target) {
      throw clientError(
        'protocol_error',
        `stable bundle seq changed from ${target} to ${resp.stable_bundle_seq}`,
        { expected: target, actual: resp.stable_bundle_seq },
      );
    }
    validatePullResponse(resp, {
      afterBundleSeq: after,
      ...(targetSeq === undefined ? {} : { targetBundleSeq: targetSeq }),
    });
    target ??= resp.stable_bundle_seq;
    for (const bundle of resp.bundles) {
      const result = await applyPulledBundle(ctx, bundle);
      bundles++;
      rows += result.applied;
      for (const t of result.tables) tables.add(t);
      checkpoint = Math.max(checkpoint, bundle.bundle_seq);
      ctx.events.emit('progress', { operation: 'pull', rows, bytes: 0 });
    }
    if (checkpoint >= target) break;
    if (!resp.has_more) {
      throw clientError(
        'protocol_error',
        `pull ended with has_more=false at ${checkpoint} below the stable bundle seq ${target}`,
      );
    }
  }
  const updatedTables = [...tables].sort();
  if (updatedTables.length > 0)
    ctx.events.emit('tablesChanged', { tables: updatedTables, cause: 'pull' });
  return {
    outcome: bundles > 0 ? 'applied_incremental' : 'already_at_target',
    lastBundleSeqSeen: checkpoint,
    bundlesApplied: bundles,
    rowsApplied: rows,
    updatedTables,
  };
}
