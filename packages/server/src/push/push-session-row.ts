import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';
import { type UserState, userStateFromRow } from '../lifecycle/user-state.js';

/** A push session row as loaded for a chunk, commit or delete. */
export interface PushSession {
  pushId: string;
  userPk: string;
  sourceId: string;
  sourceBundleId: string;
  plannedRowCount: string;
  nextExpected: string;
  requestHash: string;
  stagedBytes: string;
  initializationId: string | null;
}

/** Columns of the caller's user row joined with one push session (`ps`, may be absent). */
export interface UserAndSessionRow {
  user_pk: string;
  next_bundle_seq: string;
  floor: string;
  scope_state: number;
  initializer_source_id: string | null;
  initialization_id: string | null;
  lease_expires_at: Date | string | null;
  ps_user_pk: string | null;
  ps_source_id: string | null;
  ps_sbid: string | null;
  planned: string | null;
  next: string | null;
  request_hash: string | null;
  staged_bytes: string | null;
  ps_init: string | null;
  expired: boolean | null;
}

/** SELECT list producing {@link UserAndSessionRow} from `us` and `ps` (`$3` = now). */
export const USER_AND_SESSION_COLUMNS = `us.user_pk::text AS user_pk, us.next_bundle_seq::text AS next_bundle_seq,
       us.retained_bundle_floor::text AS floor, us.scope_state, us.initializer_source_id,
       us.initialization_id::text AS initialization_id, us.lease_expires_at,
       ps.user_pk::text AS ps_user_pk, ps.source_id AS ps_source_id, ps.source_bundle_id::text AS ps_sbid,
       ps.planned_row_count::text AS planned, ps.next_expected_row_ordinal::text AS next,
       ps.request_hash, ps.staged_bytes::text AS staged_bytes, ps.initialization_id::text AS ps_init,
       ps.expires_at <= $3 AS expired`;

/**
 * Locks the caller's user row and loads one of its push sessions in a single statement
 * (the user lock serialises every write of a user, so the session needs no lock of its
 * own). Same answers as {@link loadPushSession}.
 */
export async function lockUserAndSession(
  ctx: ServiceContext,
  tx: Queryable,
  actor: Actor,
  pushId: string,
  options: { checkExpiry: boolean } = { checkExpiry: true },
): Promise<{ user: UserState; session: PushSession }> {
  if (!isCanonicalUuid(pushId))
    throw new SyncError('push_session_not_found', 'push session not found');
  const now = ctx.now();
  // Lock alone first, so the read below sees everything committed before we got the lock.
  await tx.query('SELECT 1 FROM sync.user_state WHERE user_id = $1 FOR UPDATE', [actor.userId]);
  const { rows } = await tx.query<UserAndSessionRow>(
    `SELECT ${USER_AND_SESSION_COLUMNS}
       FROM sync.user_state us LEFT JOIN sync.push_sessions ps ON ps.push_id = $2::uuid
      WHERE us.user_id = $1`,
    [actor.userId, pushId, now],
  );
  const r = rows[0];
  if (!r || r.ps_user_pk === null) throw await missingSessionError(tx, pushId);
  if (r.ps_user_pk !== r.user_pk || r.ps_source_id !== actor.sourceId) {
    throw new SyncError('push_session_forbidden', 'push session belongs to another user or source');
  }
  if (options.checkExpiry && r.expired)
    throw new SyncError('push_session_expired', 'push session expired');
  return {
    user: userStateFromRow(r, now),
    session: {
      pushId,
      userPk: r.ps_user_pk,
      sourceId: r.ps_source_id as string,
      sourceBundleId: r.ps_sbid as string,
      plannedRowCount: r.planned as string,
      nextExpected: r.next as string,
      requestHash: r.request_hash as string,
      stagedBytes: r.staged_bytes as string,
      initializationId: r.ps_init,
    },
  };
}

/**
 * The answer for a push session the caller's read did not find: 403 when it exists but
 * belongs to someone else, 404 otherwise.
 */
export async function missingSessionError(tx: Queryable, pushId: string): Promise<SyncError> {
  const other = await tx.query('SELECT 1 FROM sync.push_sessions WHERE push_id = $1::uuid', [
    pushId,
  ]);
  return other.rows.length > 0
    ? new SyncError('push_session_forbidden', 'push session belongs to another user or source')
    : new SyncError('push_session_not_found', 'push session not found');
}
