import { SyncError } from '@oversync/protocol';
import { drainCaptured, openBundleContext } from '../capture/bundle-context.js';
import { type CommittedBundle, writeBundle } from '../capture/bundle-writer.js';
import { mapBusinessError } from '../capture/business-errors.js';
import { type BundleEffect, normalizeCaptured } from '../capture/normalize.js';
import type { Actor, ServiceContext } from '../context.js';
import { lockUser, markInitialized, SCOPE_INITIALIZED } from '../lifecycle/user-state.js';
import { applyStagedRows } from './apply-staged.js';
import { checkConflicts } from './conflicts.js';
import { requireSeedLease } from './create-session.js';
import { loadPushSession } from './push-session-row.js';
import { expectedSourceBundleId } from './source-state.js';

/**
 * Orders a bundle's effects as the client uploaded them, followed by side effects (cascades,
 * trigger writes) in capture order. The apply itself is set-based and grouped, so capture
 * order alone would not follow the upload.
 */
function inUploadOrder(
  effects: BundleEffect[],
  staged: readonly { table_id: number; key: string }[],
): BundleEffect[] {
  const rank = new Map<string, number>();
  for (const [i, r] of staged.entries()) rank.set(`${r.table_id}\u0000${r.key}`, i);
  const at = (e: BundleEffect) => rank.get(`${e.tableId}\u0000${e.key}`) ?? Number.MAX_SAFE_INTEGER;
  return effects
    .map((e, i) => ({ e, i }))
    .sort((a, b) => at(a.e) - at(b.e) || a.i - b.i)
    .map((x) => x.e);
}

/** `POST /sync/push-sessions/{push_id}/commit`: one atomic bundle or nothing. */
export async function commitPushSession(
  ctx: ServiceContext,
  actor: Actor,
  pushId: string,
): Promise<string> {
  let bundle: CommittedBundle;
  try {
    bundle = await ctx.writeTx(async (tx) => {
      // Lock order everywhere: user row first, then session rows (no deadlock with create).
      const now = ctx.now();
      const user = await lockUser(tx, actor.userId, now);
      const session = await loadPushSession(ctx, tx, actor, pushId);
      if (session.nextExpected !== session.plannedRowCount) {
        throw new SyncError(
          'push_commit_invalid',
          `only ${session.nextExpected} of ${session.plannedRowCount} planned rows were uploaded`,
        );
      }
      const { rows: hashRows } = await tx.query<{ hash: string }>(
        `SELECT encode(sha256(convert_to('[' || string_agg(hash_item, ',' ORDER BY row_ordinal) || ']', 'UTF8')), 'hex') AS hash
           FROM sync.push_session_rows WHERE push_id = $1::uuid`,
        [pushId],
      );
      if (hashRows[0]?.hash !== session.requestHash) {
        throw new SyncError(
          'push_commit_invalid',
          'canonical_request_hash does not match the uploaded rows',
        );
      }
      if (session.initializationId) {
        await requireSeedLease(ctx, tx, user, actor.sourceId, session.initializationId);
      } else if (user.scopeState !== SCOPE_INITIALIZED) {
        throw new SyncError(
          'scope_uninitialized',
          'scope is not initialized; call POST /sync/connect first',
        );
      }
      const expected = await expectedSourceBundleId(tx, user.userPk, actor.sourceId, true);
      if (expected !== BigInt(session.sourceBundleId)) {
        throw new SyncError(
          'source_sequence_changed',
          `next source_bundle_id is now ${expected}, not ${session.sourceBundleId}`,
        );
      }
      await checkConflicts(tx, ctx.catalog, pushId, user.userPk, actor.userId);
      await openBundleContext(tx, actor.userId, user.userPk);
      await applyStagedRows(tx, ctx.catalog, pushId, actor.userId);
      const effects = inUploadOrder(
        normalizeCaptured(await drainCaptured(tx)),
        (
          await tx.query<{ table_id: number; key: string }>(
            'SELECT table_id, key FROM sync.push_session_rows WHERE push_id = $1::uuid ORDER BY row_ordinal',
            [pushId],
          )
        ).rows,
      );
      if (effects.length === 0) {
        throw new SyncError(
          'push_commit_invalid',
          'push session produced no captured business-table effects',
        );
      }
      const written = await writeBundle(
        tx,
        ctx.catalog,
        {
          userPk: user.userPk,
          bundleSeq: user.nextBundleSeq,
          sourceId: actor.sourceId,
          sourceBundleId: session.sourceBundleId,
          requestHash: session.requestHash,
          maxSnapshotRowBytes: ctx.limits.max_bytes_per_snapshot_row,
        },
        effects,
      );
      if (session.initializationId) await markInitialized(tx, user.userPk, actor.sourceId, now);
      await tx.query('DELETE FROM sync.push_sessions WHERE push_id = $1::uuid', [pushId]);
      return written;
    });
  } catch (err) {
    throw mapBusinessError(err, 'push_commit_invalid');
  }
  ctx.hub.announce(bundle);
  return `{"bundle_seq":${bundle.bundleSeq},"source_id":${JSON.stringify(bundle.sourceId)},"source_bundle_id":${
    bundle.sourceBundleId
  },"row_count":${bundle.rowCount},"bundle_hash":"${bundle.bundleHash}","canonical_request_hash":"${bundle.requestHash ?? ''}"}`;
}
