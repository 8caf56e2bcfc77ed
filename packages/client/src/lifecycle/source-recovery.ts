/**
 * Source recovery: the server refused our writer identity (`source_sequence_*`,
 * `source_retired`, or our prepared bundle fell below its retained history). The prepared
 * outbox is kept; a replacement source id is reserved durably; `rebuild()` then restores the
 * server state, replays the preserved intent and continues under the new source.
 *
 * @module
 */

import { isValidSourceId } from '@oversync/protocol';
import type { SqlExecutor } from '../driver/driver.js';
import type { EngineContext } from '../engine-context.js';
import { clientError } from '../errors.js';
import { requeueDirty } from '../local/row-writes.js';
import {
  clearOutbox,
  readAttachment,
  readOperation,
  readOutboxRows,
  updateAttachment,
  writeOperation,
} from '../local/state-store.js';

/**
 * Reasons the protocol defines for a source replacement.
 *
 * @example
 * ```ts
 * const known = (SOURCE_RECOVERY_REASONS as readonly string[]).includes(operation.reason);
 * ```
 */
export const SOURCE_RECOVERY_REASONS = [
  'history_pruned',
  'source_sequence_out_of_order',
  'source_sequence_changed',
  'source_retired',
] as const;

/**
 * Persists the source-recovery gate and reserves the replacement source id.
 *
 * @example
 * ```ts
 * await enterSourceRecovery(ctx, 'source_retired', suggestedReplacementId);
 * ```
 */
export async function enterSourceRecovery(
  ctx: EngineContext,
  reason: string,
  suggestedReplacement?: string,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const op = await readOperation(tx);
    const currentSourceId = (await readAttachment(tx)).currentSourceId;
    let replacement = op.kind === 'source_recovery' ? op.replacementSourceId : '';
    if (replacement && suggestedReplacement && suggestedReplacement !== replacement) {
      throw clientError(
        'source_replacement_diverged',
        `server suggests replacement source ${suggestedReplacement} but ${replacement} is already reserved`,
        { reserved: replacement, suggested: suggestedReplacement },
      );
    }
    if (!replacement)
      replacement = suggestedReplacement ?? freshReplacementId(ctx, currentSourceId);
    await reserveFreshReplacementSource(tx, currentSourceId, replacement);
    await writeOperation(tx, {
      kind: 'source_recovery',
      reason,
      replacementSourceId: replacement,
    });
    await updateAttachment(tx, { rebuildRequired: true });
  });
}

/** A fresh random replacement id, never the current source. */
function freshReplacementId(ctx: EngineContext, currentSourceId: string): string {
  let candidate = ctx.randomUUID();
  while (candidate === currentSourceId) candidate = ctx.randomUUID();
  return candidate;
}

/**
 * Ensures the reserved replacement has its `_sync_source_state` row (created with
 * `next_source_bundle_id = 1`) and is fresh: never used (`next_source_bundle_id = 1`), never
 * replaced, and not the current source. The reference runtimes reserve the row at the same time
 * as the recovery gate (runtime-state/transitions `source-recovery-gate-persisted`).
 */
async function reserveFreshReplacementSource(
  tx: SqlExecutor,
  currentSourceId: string,
  replacementId: string,
): Promise<void> {
  if (!isValidSourceId(replacementId)) {
    throw clientError(
      'protocol_error',
      `invalid replacement source id ${JSON.stringify(replacementId)}`,
    );
  }
  if (replacementId === currentSourceId) {
    throw clientError(
      'source_replacement_invalid',
      `replacement source ${replacementId} must differ from the current source`,
    );
  }
  await tx.run(
    "INSERT INTO _sync_source_state(source_id, next_source_bundle_id, replaced_by_source_id) VALUES (?, 1, '') ON CONFLICT(source_id) DO NOTHING",
    [replacementId],
  );
  const row = await tx.get(
    'SELECT next_source_bundle_id, replaced_by_source_id FROM _sync_source_state WHERE source_id = ?',
    [replacementId],
  );
  if (!row || Number(row.next_source_bundle_id) !== 1 || String(row.replaced_by_source_id) !== '') {
    throw clientError(
      'source_replacement_invalid',
      `reserved replacement source ${replacementId} is not fresh (it was used or replaced before)`,
    );
  }
}

/**
 * The server rejected the seed lease (`initialization_expired` / `initialization_stale`): drop
 * the binding (keeping every local row) so the next `attach` negotiates again; the frozen bundle
 * goes back to dirty rows so it is counted as pending and pushed after the new attach.
 *
 * @example
 * ```ts
 * if (code === 'initialization_expired' || code === 'initialization_stale')
 *   await resetForInvalidInitializationLease(ctx);
 * ```
 */
export async function resetForInvalidInitializationLease(ctx: EngineContext): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const rows = await readOutboxRows(tx);
    for (const row of rows) {
      const table = ctx.schema.byName.get(row.tableName);
      if (!table) continue;
      const exists = await tx.get(
        'SELECT 1 AS x FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?',
        [row.schemaName, row.tableName, row.keyJson],
      );
      if (!exists)
        await requeueDirty(tx, table, row.keyJson, row.op, row.baseRowVersion, row.localPayload);
    }
    await clearOutbox(tx);
    await updateAttachment(tx, {
      bindingState: 'anonymous',
      attachedUserId: '',
      schemaName: '',
      pendingInitializationId: '',
    });
  });
}
