import { SyncError } from '@oversync/protocol';
import type { ServiceContext } from '../context.js';
import { lockUser } from '../lifecycle/user-state.js';

/**
 * Moves a user's retained floor and deletes the bundles at or below it. Bundles below the
 * floor answer `history_pruned`; their source watermarks and row versions stay.
 */
export async function setRetainedFloor(
  ctx: ServiceContext,
  userId: string,
  floor: bigint,
): Promise<{ found: boolean; floor: string }> {
  if (floor < 0n)
    throw new SyncError('invalid_request', 'retained_bundle_floor must be non-negative');
  return ctx.writeTx(async (tx) => {
    const { rows } = await tx.query<{ n: number }>(
      'SELECT 1 AS n FROM sync.user_state WHERE user_id = $1',
      [userId],
    );
    if (rows.length === 0) return { found: false, floor: '0' };
    const user = await lockUser(tx, userId, ctx.now());
    const latest = BigInt(user.nextBundleSeq) - 1n;
    if (floor > latest) {
      throw new SyncError(
        'invalid_request',
        `retained_bundle_floor ${floor} is above the latest bundle ${latest}`,
      );
    }
    // Pruned bundles are gone; lowering the floor would make pulls skip them silently.
    if (floor < BigInt(user.retainedFloor)) {
      throw new SyncError(
        'invalid_request',
        `retained_bundle_floor ${floor} is below the current floor ${user.retainedFloor}; history cannot be restored`,
      );
    }
    await tx.query(
      'UPDATE sync.user_state SET retained_bundle_floor = $2::int8 WHERE user_pk = $1::int8',
      [user.userPk, floor.toString()],
    );
    await tx.query(
      'DELETE FROM sync.bundle_log WHERE user_pk = $1::int8 AND bundle_seq <= $2::int8',
      [user.userPk, floor.toString()],
    );
    return { found: true, floor: floor.toString() };
  });
}

/**
 * One pass of the pruning job: keeps the newest `window` bundles per user (in batches of
 * users, skipping users locked by a commit), and sweeps expired push and snapshot sessions.
 */
export async function pruneOnce(ctx: ServiceContext, window: number): Promise<{ users: number }> {
  let users = 0;
  for (;;) {
    const { rows } = await ctx.db.transaction(async (tx) =>
      tx.query<{ user_pk: string }>(
        `WITH u AS (
           SELECT user_pk, next_bundle_seq - 1 - $1::int8 AS nf FROM sync.user_state
            WHERE next_bundle_seq - 1 - retained_bundle_floor > $1::int8
            ORDER BY user_pk LIMIT 100 FOR UPDATE SKIP LOCKED
         ), up AS (
           UPDATE sync.user_state s SET retained_bundle_floor = u.nf FROM u WHERE s.user_pk = u.user_pk
           RETURNING s.user_pk, u.nf
         ), del AS (
           DELETE FROM sync.bundle_log b USING up WHERE b.user_pk = up.user_pk AND b.bundle_seq <= up.nf
         )
         SELECT user_pk::text AS user_pk FROM up`,
        [String(window)],
      ),
    );
    users += rows.length;
    if (rows.length < 100) break;
  }
  const now = ctx.now();
  await ctx.db.query('DELETE FROM sync.push_sessions WHERE expires_at <= $1', [now]);
  await ctx.db.query('DELETE FROM sync.snapshot_sessions WHERE expires_at <= $1', [now]);
  // Capture rows of transactions that ended without being drained (e.g. a deferred
  // application trigger that wrote after the bundle was finalised) must not pile up.
  await ctx.db.query(
    `DELETE FROM sync.capture WHERE txid < pg_snapshot_xmin(pg_current_snapshot())`,
  );
  return { users };
}
