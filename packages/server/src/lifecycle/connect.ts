import { SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { lockUser, markInitialized, SCOPE_INITIALIZED, SCOPE_INITIALIZING } from './user-state.js';

/** The connect answer. */
export type ConnectResult =
  | { resolution: 'remote_authoritative' }
  | { resolution: 'initialize_empty' }
  | { resolution: 'initialize_local'; initialization_id: string; lease_expires_at: string }
  | { resolution: 'retry_later'; retry_after_seconds: number; lease_expires_at: string };

/**
 * Decides who initializes a user's scope (docs/protocol.md, "Connect lifecycle").
 *
 * | state | pending rows | answer |
 * | INITIALIZED | any | remote_authoritative |
 * | UNINITIALIZED | yes | initialize_local, lease to this source |
 * | UNINITIALIZED | no | initialize_empty, scope INITIALIZED |
 * | INITIALIZING by this source | yes | initialize_local, same id, lease refreshed |
 * | INITIALIZING by this source | no | initialize_empty, scope INITIALIZED |
 * | INITIALIZING by another source | any | retry_later until the lease lapses |
 */
export async function connect(
  ctx: ServiceContext,
  actor: Actor,
  body: unknown,
): Promise<ConnectResult> {
  const pending = parseConnectBody(body);
  // The two common answers in one autocommit statement: an initialized scope (every app
  // start; INITIALIZED is terminal, so no lock is needed to answer it) and a brand-new user
  // without local rows (created directly as INITIALIZED). Everything else takes the locked path.
  const now = ctx.now();
  const { rows: fast } = await ctx.db.query<{ created: string | null; state: number | null }>(
    `WITH ins AS (
       INSERT INTO sync.user_state (user_id, scope_state, initialized_at, initialized_by_source_id)
       SELECT $1, 2, $2, $3
        WHERE NOT $4::boolean AND NOT EXISTS (SELECT 1 FROM sync.user_state WHERE user_id = $1)
       ON CONFLICT (user_id) DO NOTHING
       RETURNING user_pk)
     SELECT (SELECT user_pk::text FROM ins) AS created,
            (SELECT scope_state FROM sync.user_state WHERE user_id = $1)::int AS state`,
    [actor.userId, now, actor.sourceId, pending],
  );
  if (fast[0]?.created) return { resolution: 'initialize_empty' };
  if (fast[0]?.state === SCOPE_INITIALIZED) return { resolution: 'remote_authoritative' };
  return ctx.writeTx(async (tx) => {
    const user = await lockUser(tx, actor.userId, now);
    const ttlMs = ctx.limits.initialization_lease_ttl_seconds * 1000;
    if (user.scopeState === SCOPE_INITIALIZED) return { resolution: 'remote_authoritative' };
    if (user.scopeState === SCOPE_INITIALIZING && user.initializerSourceId !== actor.sourceId) {
      const expires = user.leaseExpiresAt ?? now;
      const seconds = Math.max(1, Math.floor((expires.getTime() - now.getTime()) / 1000));
      return {
        resolution: 'retry_later',
        retry_after_seconds: seconds,
        lease_expires_at: expires.toISOString(),
      };
    }
    if (!pending) {
      await markInitialized(tx, user.userPk, actor.sourceId, now);
      return { resolution: 'initialize_empty' };
    }
    const expires = new Date(now.getTime() + ttlMs);
    const initializationId =
      user.scopeState === SCOPE_INITIALIZING && user.initializationId
        ? user.initializationId
        : ctx.randomUUID();
    await tx.query(
      `UPDATE sync.user_state SET scope_state = 1, initializer_source_id = $2, initialization_id = $3::uuid,
              lease_expires_at = $4 WHERE user_pk = $1::int8`,
      [user.userPk, actor.sourceId, initializationId, expires],
    );
    return {
      resolution: 'initialize_local',
      initialization_id: initializationId,
      lease_expires_at: expires.toISOString(),
    };
  });
}

function parseConnectBody(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SyncError('invalid_request', 'connect body must be a JSON object');
  }
  const v = (body as Record<string, unknown>).has_local_pending_rows;
  if (v === undefined) return false;
  if (typeof v !== 'boolean')
    throw new SyncError('invalid_request', 'has_local_pending_rows must be a boolean');
  return v;
}
