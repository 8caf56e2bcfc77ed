import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';

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

/**
 * Loads and locks a push session of the caller; 404 for unknown (or non-UUID) ids, 403
 * for another user's or another source's session, 410 once expired.
 */
export async function loadPushSession(
  ctx: ServiceContext,
  tx: Queryable,
  actor: Actor,
  pushId: string,
  options: { checkExpiry: boolean } = { checkExpiry: true },
): Promise<PushSession> {
  if (!isCanonicalUuid(pushId))
    throw new SyncError('push_session_not_found', 'push session not found');
  const { rows } = await tx.query<{
    user_id: string;
    user_pk: string;
    source_id: string;
    source_bundle_id: string;
    planned: string;
    next: string;
    request_hash: string;
    staged_bytes: string;
    initialization_id: string | null;
    expired: boolean;
  }>(
    `SELECT us.user_id, ps.user_pk::text AS user_pk, ps.source_id, ps.source_bundle_id::text AS source_bundle_id,
            ps.planned_row_count::text AS planned, ps.next_expected_row_ordinal::text AS next,
            ps.request_hash, ps.staged_bytes::text AS staged_bytes, ps.initialization_id::text AS initialization_id, ps.expires_at <= $2 AS expired
       FROM sync.push_sessions ps JOIN sync.user_state us ON us.user_pk = ps.user_pk
      WHERE ps.push_id = $1::uuid FOR UPDATE OF ps`,
    [pushId, ctx.now()],
  );
  const r = rows[0];
  if (!r) throw new SyncError('push_session_not_found', 'push session not found');
  if (r.user_id !== actor.userId || r.source_id !== actor.sourceId) {
    throw new SyncError('push_session_forbidden', 'push session belongs to another user or source');
  }
  if (options.checkExpiry && r.expired)
    throw new SyncError('push_session_expired', 'push session expired');
  return {
    pushId,
    userPk: r.user_pk,
    sourceId: r.source_id,
    sourceBundleId: r.source_bundle_id,
    plannedRowCount: r.planned,
    nextExpected: r.next,
    requestHash: r.request_hash,
    stagedBytes: r.staged_bytes,
    initializationId: r.initialization_id,
  };
}
