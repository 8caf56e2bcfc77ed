import { SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { lockUserAndSession } from './push-session-row.js';

/** `DELETE /sync/push-sessions/{push_id}`: abandons an uncommitted session. */
export async function deletePushSession(
  ctx: ServiceContext,
  actor: Actor,
  pushId: string,
): Promise<void> {
  const expired = await ctx.writeTx(async (tx) => {
    const { session } = await lockUserAndSession(ctx, tx, actor, pushId, { checkExpiry: false });
    const { rows } = await tx.query<{ expired: boolean }>(
      'DELETE FROM sync.push_sessions WHERE push_id = $1::uuid RETURNING expires_at <= $2 AS expired',
      [session.pushId, ctx.now()],
    );
    return rows[0]?.expired === true;
  });
  if (expired)
    throw new SyncError('push_session_expired', 'push session had expired (it is now deleted)');
}
