import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { readIntParam } from '../util/query-params.js';

const CODE = 'snapshot_chunk_invalid';

interface ChunkRow {
  user_id: string;
  seq: string;
  row_count: string;
  expired: boolean;
  /** byte_len of the first row after the cursor (null when there is none). */
  first_len: number | null;
  /** Rows in the page. */
  n: number;
  bytes: string;
  /** The page's row JSON, comma-joined in ordinal order. */
  body: string;
}

/**
 * `GET /sync/snapshot-sessions/{snapshot_id}`: rows after `after_row_ordinal` (1-based,
 * exclusive), bounded by `max_rows` and `max_bytes`; `byte_count` is the sum of the
 * returned rows' compact JSON lengths. Reading extends the session's TTL, so a slow
 * download of a large snapshot does not expire midway.
 */
export async function snapshotChunk(
  ctx: ServiceContext,
  actor: Actor,
  snapshotId: string,
  params: URLSearchParams,
): Promise<string> {
  const after = readIntParam(params, 'after_row_ordinal', CODE) ?? 0n;
  const maxRows = Math.min(
    Number(
      readIntParam(params, 'max_rows', CODE, { min: 1n }) ??
        BigInt(ctx.limits.default_rows_per_snapshot_chunk),
    ),
    ctx.limits.max_rows_per_snapshot_chunk,
  );
  // G1 chunks are bounded by rows only (go-oversync ignores max_bytes).
  const maxBytes =
    ctx.dialect === 'g1'
      ? Number.MAX_SAFE_INTEGER
      : Math.min(
          Number(
            readIntParam(params, 'max_bytes', CODE, { min: 1n }) ??
              BigInt(ctx.limits.default_bytes_per_snapshot_chunk),
          ),
          ctx.limits.max_bytes_per_snapshot_chunk,
        );
  if (!isCanonicalUuid(snapshotId))
    throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  const now = ctx.now();
  const ttlMs = ctx.limits.snapshot_session_ttl_seconds * 1000;
  // One statement, one round trip: the session check, the conditional TTL extension and the
  // page itself. The page is rendered in PostgreSQL as the comma-joined row JSON in ordinal
  // order, cut where the running byte sum would pass max_bytes (every row is ≥ 2 bytes, so
  // the running sum is strictly increasing and `cum <= max_bytes` is exactly a prefix).
  // Rows are read and the TTL extended only when every check before the page passes, as
  // in the step-by-step order below; the UPDATE extends the TTL only once half of it is
  // used up, so a chunk GET normally stays read-only.
  const { rows } = await ctx.db.query<ChunkRow>(
    `WITH s AS (
       SELECT us.user_id, ss.snapshot_bundle_seq::text AS seq, ss.row_count,
              ss.expires_at <= $2 AS expired,
              us.user_id = $3 AND ss.expires_at > $2 AND $4::int8 <= ss.row_count AS readable
         FROM sync.snapshot_sessions ss JOIN sync.user_state us ON us.user_pk = ss.user_pk
        WHERE ss.snapshot_id = $1::uuid
     ), extend AS (
       UPDATE sync.snapshot_sessions SET expires_at = $6
        WHERE snapshot_id = $1::uuid AND expires_at < $7 AND (SELECT readable FROM s)
     ), page AS (
       SELECT p.row_ordinal, p.byte_len, p.row_json,
              sum(p.byte_len) OVER (ORDER BY p.row_ordinal) AS cum
         FROM (SELECT row_ordinal, byte_len, row_json FROM sync.snapshot_rows
                WHERE snapshot_id = $1::uuid AND row_ordinal > $4::int8 AND (SELECT readable FROM s)
                ORDER BY row_ordinal LIMIT $5) AS p
     )
     SELECT s.user_id, s.seq, s.row_count::text AS row_count, s.expired,
            (SELECT byte_len FROM page ORDER BY row_ordinal LIMIT 1) AS first_len,
            q.n, q.bytes::text AS bytes, q.body
       FROM s,
            LATERAL (SELECT count(*)::int AS n, COALESCE(sum(byte_len), 0) AS bytes,
                            COALESCE(string_agg(row_json, ',' ORDER BY row_ordinal), '') AS body
                       FROM page WHERE cum <= $8::int8) AS q`,
    [
      snapshotId,
      now,
      actor.userId,
      String(after),
      maxRows,
      new Date(now.getTime() + ttlMs),
      new Date(now.getTime() + ttlMs / 2),
      maxBytes,
    ],
  );
  const session = rows[0];
  if (!session) throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  if (session.user_id !== actor.userId)
    throw new SyncError('snapshot_session_forbidden', 'snapshot session belongs to another user');
  if (session.expired) throw new SyncError('snapshot_session_expired', 'snapshot session expired');
  const total = BigInt(session.row_count);
  if (after > total)
    throw new SyncError(CODE, `after_row_ordinal ${after} is beyond row_count ${total}`);
  const firstLen = session.first_len;
  if (firstLen !== null && firstLen > maxBytes) {
    throw new SyncError(
      'snapshot_chunk_too_small',
      `max_bytes ${maxBytes} is smaller than the next row (${firstLen} bytes)`,
      {
        extra: { required_byte_count: firstLen },
      },
    );
  }
  if (session.n === 0 && after < total) {
    // The materialised rows are gone (the unlogged table was reset by a database crash).
    throw new SyncError(
      'snapshot_session_expired',
      'snapshot session data is no longer available; create a new session',
    );
  }
  const next = after + BigInt(session.n);
  if (ctx.dialect === 'g1') {
    return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${session.seq},"rows":[${session.body}],"next_row_ordinal":${next},"has_more":${next < total}}`;
  }
  return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${session.seq},"rows":[${session.body}],"next_row_ordinal":${next},"has_more":${next < total},"byte_count":${session.bytes}}`;
}

/** `DELETE /sync/snapshot-sessions/{snapshot_id}`. */
export async function deleteSnapshot(
  ctx: ServiceContext,
  actor: Actor,
  snapshotId: string,
): Promise<void> {
  if (!isCanonicalUuid(snapshotId))
    throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  // One statement: the owner check and the delete (only when the caller owns the session).
  const { rows } = await ctx.db.query<{ user_id: string }>(
    `WITH s AS (
       SELECT us.user_id FROM sync.snapshot_sessions ss JOIN sync.user_state us ON us.user_pk = ss.user_pk
        WHERE ss.snapshot_id = $1::uuid
     ), d AS (
       DELETE FROM sync.snapshot_sessions WHERE snapshot_id = $1::uuid AND (SELECT user_id FROM s) = $2
     )
     SELECT user_id FROM s`,
    [snapshotId, actor.userId],
  );
  const owner = rows[0];
  if (!owner) throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  if (owner.user_id !== actor.userId)
    throw new SyncError('snapshot_session_forbidden', 'snapshot session belongs to another user');
}
