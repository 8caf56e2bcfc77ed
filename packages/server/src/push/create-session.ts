import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';
import {
  lockUser,
  SCOPE_INITIALIZED,
  SCOPE_INITIALIZING,
  SCOPE_UNINITIALIZED,
  type UserState,
} from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { g1BundleHashOf } from '../render/g1-rows.js';
import { sourceRetired } from './source-state.js';

const HASH = /^[0-9a-f]{64}$/;

interface CreateRequest {
  sourceBundleId: number;
  plannedRowCount: number;
  requestHash: string;
  initializationId: string | null;
}

function parse(body: unknown, maxRows: number, g1: boolean): CreateRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SyncError('invalid_request', 'push session request must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const sbid = b.source_bundle_id;
  const planned = b.planned_row_count;
  if (typeof sbid !== 'number' || !Number.isSafeInteger(sbid) || sbid <= 0) {
    throw new SyncError('push_session_invalid', 'source_bundle_id must be a positive integer');
  }
  if (typeof planned !== 'number' || !Number.isSafeInteger(planned) || planned <= 0) {
    throw new SyncError('push_session_invalid', 'planned_row_count must be a positive integer');
  }
  if (maxRows > 0 && planned > maxRows) {
    throw new SyncError(
      'push_session_invalid',
      `planned_row_count exceeds max_rows_per_bundle ${maxRows}`,
    );
  }
  // G1 has no request hash (go-oversync ignores one if sent); '' marks the session as G1.
  const hash = g1 ? '' : b.canonical_request_hash;
  if (!g1 && (typeof hash !== 'string' || !HASH.test(hash))) {
    throw new SyncError(
      'push_session_invalid',
      'canonical_request_hash must be 64 lowercase hex characters',
    );
  }
  let initializationId: string | null = null;
  if (
    b.initialization_id !== undefined &&
    b.initialization_id !== null &&
    b.initialization_id !== ''
  ) {
    if (typeof b.initialization_id !== 'string' || !isCanonicalUuid(b.initialization_id)) {
      throw new SyncError(
        'push_session_invalid',
        'initialization_id must be a canonical lowercase UUID',
      );
    }
    initializationId = b.initialization_id;
  }
  return {
    sourceBundleId: sbid,
    plannedRowCount: planned,
    requestHash: hash as string,
    initializationId,
  };
}

/** Checks (and refreshes) the initialization lease a seed push needs. */
export async function requireSeedLease(
  ctx: ServiceContext,
  tx: Queryable,
  user: UserState,
  sourceId: string,
  initializationId: string,
): Promise<void> {
  if (user.scopeState === SCOPE_UNINITIALIZED) {
    throw new SyncError(
      'initialization_expired',
      'the initialization lease expired; connect again',
    );
  }
  if (
    user.scopeState !== SCOPE_INITIALIZING ||
    user.initializerSourceId !== sourceId ||
    user.initializationId !== initializationId
  ) {
    throw new SyncError(
      'initialization_stale',
      'this source no longer holds the initialization lease',
    );
  }
  const expires = new Date(
    ctx.now().getTime() + ctx.limits.initialization_lease_ttl_seconds * 1000,
  );
  await tx.query('UPDATE sync.user_state SET lease_expires_at = $2 WHERE user_pk = $1::int8', [
    user.userPk,
    expires,
  ]);
}

/** `POST /sync/push-sessions`. */
export async function createPushSession(
  ctx: ServiceContext,
  actor: Actor,
  body: unknown,
): Promise<string> {
  const g1 = ctx.dialect === 'g1';
  const req = parse(body, ctx.limits.max_rows_per_bundle, g1);
  return ctx.writeTx(async (tx) => {
    const now = ctx.now();
    const user = await lockUser(tx, actor.userId, now);
    // One statement: sweep this user's expired sessions and any uncommitted session of the
    // same tuple (a new create replaces it; rolled back if this create fails), and read the
    // replay candidate and the source watermark.
    const replay = await tx.query<{
      bundle_seq: string | null;
      row_count: string | null;
      bundle_hash: string | null;
      request_hash: string | null;
      ss_state: string | null;
      ss_max: string | null;
      ss_replaced_by: string | null;
    }>(
      `WITH gone AS (
         DELETE FROM sync.push_sessions
          WHERE user_pk = $1::int8 AND (expires_at <= $5 OR (source_id = $2 AND source_bundle_id = $3::int8))
       )
       SELECT bl.bundle_seq::text AS bundle_seq, bl.row_count::text AS row_count, bl.bundle_hash, bl.request_hash,
              ss.state AS ss_state, ss.max_committed_source_bundle_id::text AS ss_max,
              ss.replaced_by_source_id AS ss_replaced_by
         FROM (SELECT 1) AS one
         LEFT JOIN sync.bundle_log bl ON bl.user_pk = $1::int8 AND bl.source_id = $2
              AND bl.source_bundle_id = $3::int8 AND bl.bundle_seq > $4::int8
         LEFT JOIN sync.source_state ss ON ss.user_pk = $1::int8 AND ss.source_id = $2`,
      [user.userPk, actor.sourceId, String(req.sourceBundleId), user.retainedFloor, now],
    );
    const head = replay.rows[0];
    const committed = head?.bundle_seq ? head : undefined;
    if (committed) {
      await tx.query(`SELECT nextval('sync.accepted_push_replay_seq')`);
      const out: Record<string, string> = {
        status: '"already_committed"',
        bundle_seq: String(committed.bundle_seq),
        source_id: JSON.stringify(actor.sourceId),
        source_bundle_id: String(req.sourceBundleId),
        row_count: String(committed.row_count),
        bundle_hash: JSON.stringify(committed.bundle_hash),
      };
      if (g1) {
        out.source_id = goString(actor.sourceId);
        out.bundle_hash = JSON.stringify(
          await g1BundleHashOf(
            tx,
            ctx.catalog,
            ctx.g1Hashes,
            user.userPk,
            String(committed.bundle_seq),
          ),
        );
      } else if (committed.request_hash)
        out.canonical_request_hash = JSON.stringify(committed.request_hash);
      return `{${Object.entries(out)
        .map(([k, v]) => `"${k}":${v}`)
        .join(',')}}`;
    }
    if (user.scopeState === SCOPE_UNINITIALIZED) {
      if (req.initializationId)
        throw new SyncError(
          'initialization_expired',
          'the initialization lease expired; connect again',
        );
      throw new SyncError(
        'scope_uninitialized',
        'scope is not initialized; call POST /sync/connect first',
      );
    }
    if (user.scopeState === SCOPE_INITIALIZING) {
      if (!req.initializationId) {
        if (user.initializerSourceId === actor.sourceId) {
          throw new SyncError('push_session_invalid', 'the seed push must carry initialization_id');
        }
        throw new SyncError('scope_initializing', 'scope initialization is in progress');
      }
      await requireSeedLease(ctx, tx, user, actor.sourceId, req.initializationId);
    } else if (user.scopeState === SCOPE_INITIALIZED && req.initializationId) {
      // 409 (not 400): clients recover from a stale lease by reconnecting, which is what this is.
      throw new SyncError(
        'initialization_stale',
        'the scope is already initialized; this initialization lease is stale (connect again)',
      );
    }
    if (head?.ss_state === 'retired') throw sourceRetired(actor.sourceId, head.ss_replaced_by);
    const expected = head?.ss_max ? BigInt(head.ss_max) + 1n : 1n;
    const sbid = BigInt(req.sourceBundleId);
    if (sbid < expected) {
      throw new SyncError(
        'history_pruned',
        `source_bundle_id ${sbid} was already committed and is no longer retained (next expected ${expected})`,
      );
    }
    if (sbid > expected) {
      throw new SyncError(
        'source_sequence_out_of_order',
        `source_bundle_id ${sbid} skips ahead; expected ${expected}`,
      );
    }
    const pushId = ctx.randomUUID();
    const expires = new Date(now.getTime() + ctx.limits.push_session_ttl_seconds * 1000);
    await tx.query(
      `INSERT INTO sync.push_sessions (push_id, user_pk, source_id, source_bundle_id, planned_row_count,
         request_hash, initialization_id, expires_at)
       VALUES ($1::uuid, $2::int8, $3, $4::int8, $5::int8, $6, $7::uuid, $8)`,
      [
        pushId,
        user.userPk,
        actor.sourceId,
        String(sbid),
        String(req.plannedRowCount),
        req.requestHash,
        req.initializationId,
        expires,
      ],
    );
    if (g1) {
      // go-oversync omits next_expected_row_ordinal when it is 0 (Go `omitempty`).
      return `{"push_id":"${pushId}","status":"staging","planned_row_count":${req.plannedRowCount}}`;
    }
    return JSON.stringify({
      push_id: pushId,
      status: 'staging',
      planned_row_count: req.plannedRowCount,
      next_expected_row_ordinal: 0,
      canonical_request_hash: req.requestHash,
    });
  });
}
