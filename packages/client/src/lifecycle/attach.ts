/**
 * `attach(userId)`: bind this database to a user, resolving with the server how local and
 * remote state meet (connect lifecycle).
 *
 * Order: a pending `remote_replace` is finished (same user) or refused (other user); an
 * existing binding to the same user resumes without network; a binding to another user is
 * refused; otherwise capabilities are checked and `POST /sync/connect` decides.
 *
 * @module
 */

import type { EngineContext } from '../engine-context.js';
import { clientError } from '../errors.js';
import {
  countDirtyRows,
  countOutboxRows,
  readAttachment,
  readOperation,
  updateAttachment,
  writeOperation,
} from '../local/state-store.js';
import { callRemote } from '../remote/call.js';
import { checkCapabilities } from '../remote/handshake.js';
import { type RestoreSummary, rebuildFromSnapshot } from '../snapshot/rebuild.js';

/**
 * How an attach connected.
 *
 * @example
 * ```ts
 * const result = await client.attach('user-123');
 * if (result.status === 'connected' && result.outcome === 'used_remote_state') reloadAll();
 * ```
 */
export type AttachOutcome =
  | 'resumed_attached_state'
  | 'used_remote_state'
  | 'seeded_from_local'
  | 'started_empty';

/**
 * Result of `attach`.
 *
 * @example
 * ```ts
 * const result = await client.attach('user-123');
 * if (result.status === 'retry_later') setTimeout(retry, result.retryAfterSeconds * 1000);
 * ```
 */
export type AttachResult =
  | {
      readonly status: 'connected';
      readonly outcome: AttachOutcome;
      readonly restore?: RestoreSummary;
    }
  | { readonly status: 'retry_later'; readonly retryAfterSeconds: number };

/**
 * Runs the attach decision procedure. The caller holds the operation lock.
 *
 * @example
 * ```ts
 * const result = await attachUser(ctx, 'user-123', signal);
 * ```
 */
export async function attachUser(
  ctx: EngineContext,
  userId: string,
  signal?: AbortSignal,
): Promise<AttachResult> {
  if (typeof userId !== 'string' || userId === '') {
    throw clientError('configuration', 'attach needs a non-empty user id');
  }
  const operation = await readOperation(ctx.db);
  if (operation.kind === 'remote_replace') {
    if (operation.targetUserId !== userId) {
      throw clientError(
        'local_state_conflict',
        `a remote replace for user ${operation.targetUserId} is pending; detach first`,
        { pendingUserId: operation.targetUserId },
      );
    }
    const restore = await rebuildFromSnapshot(ctx, {
      mode: 'remote_replace',
      userId,
      ...(signal ? { signal } : {}),
    });
    return { status: 'connected', outcome: 'used_remote_state', restore };
  }

  const attachment = await readAttachment(ctx.db);
  if (attachment.bindingState === 'attached') {
    if (attachment.attachedUserId === userId) {
      return { status: 'connected', outcome: 'resumed_attached_state' };
    }
    throw clientError(
      'binding_conflict',
      `this database is attached to another user; detach before attaching ${userId}`,
      { attachedUserId: attachment.attachedUserId },
    );
  }

  const req = { sourceId: attachment.currentSourceId, ...(signal ? { signal } : {}) };
  const caps = await callRemote(ctx, () => ctx.remote.capabilities(req), signal);
  const compat = checkCapabilities(caps, {
    schema: ctx.schema.schema,
    tables: ctx.schema.tables.map((t) => ({ tableName: t.tableName, keyColumn: t.keyColumn })),
  });
  if (!compat.connectLifecycle) {
    throw clientError(
      'connect_lifecycle_unsupported',
      'the server does not advertise features.connect_lifecycle',
    );
  }
  const pending = (await countDirtyRows(ctx.db)) + (await countOutboxRows(ctx.db));
  const resp = await callRemote(
    ctx,
    () => ctx.remote.connect(req, { has_local_pending_rows: pending > 0 }),
    signal,
  );
  switch (resp.resolution) {
    case 'retry_later':
      return { status: 'retry_later', retryAfterSeconds: resp.retry_after_seconds ?? 1 };
    case 'initialize_empty':
      await ctx.db.transaction((tx) =>
        updateAttachment(tx, {
          bindingState: 'attached',
          attachedUserId: userId,
          schemaName: ctx.schema.schema,
          pendingInitializationId: '',
        }),
      );
      return { status: 'connected', outcome: 'started_empty' };
    case 'initialize_local': {
      if (!resp.initialization_id) {
        throw clientError('protocol_error', 'initialize_local without initialization_id');
      }
      const lease = resp.initialization_id;
      await ctx.db.transaction((tx) =>
        updateAttachment(tx, {
          bindingState: 'attached',
          attachedUserId: userId,
          schemaName: ctx.schema.schema,
          pendingInitializationId: lease,
        }),
      );
      return { status: 'connected', outcome: 'seeded_from_local' };
    }
    case 'remote_authoritative': {
      if ((await countOutboxRows(ctx.db)) > 0) {
        throw clientError(
          'local_state_conflict',
          'cannot replace local state with the server state while a frozen upload exists',
        );
      }
      // Durable first: a crash resumes the replacement on the next attach of the same user.
      await ctx.db.transaction(async (tx) => {
        await writeOperation(tx, { kind: 'remote_replace', targetUserId: userId });
        await updateAttachment(tx, {
          bindingState: 'anonymous',
          attachedUserId: '',
          schemaName: '',
        });
      });
      const restore = await rebuildFromSnapshot(ctx, {
        mode: 'remote_replace',
        userId,
        ...(signal ? { signal } : {}),
      });
      return { status: 'connected', outcome: 'used_remote_state', restore };
    }
  }
}
