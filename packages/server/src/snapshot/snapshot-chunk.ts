import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';
import { readIntParam } from '../util/query-params.js';

const CODE = 'snapshot_chunk_invalid';

interface SessionRow {
  user_id: string;
  seq: string;
  row_count: string;
  expired: boolean;
}

async function loadSnapshot(
  ctx: ServiceContext,
  q: Queryable,
  actor: Actor,
  id: string,
): Promise<SessionRow> {
  if (!isCanonicalUuid(id))
    throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  const { rows } = await q.query<SessionRow>(
    `SELECT us.user_id, ss.snapshot_bundle_seq::text AS seq, ss.row_count::text AS row_count, ss.expires_at <= $2 AS expired
       FROM sync.snapshot_sessions ss JOIN sync.user_state us ON us.user_pk = ss.user_pk
      WHERE ss.snapshot_id = $1::uuid`,
    [id, ctx.now()],
  );
  const s = rows[0];
  if (!s) throw new SyncError('snapshot_session_not_found', 'snapshot session not found');
  if (s.user_id !== actor.userId)
    throw new SyncError('snapshot_session_forbidden', 'snapshot session belongs to another user');
  return s;
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
  const maxBytes = Math.min(
    Number(
      readIntParam(params, 'max_bytes', CODE, { min: 1n }) ??
        BigInt(ctx.limits.default_bytes_per_snapshot_chunk),
    ),
    ctx.limits.max_bytes_per_snapshot_chunk,
  );
  const session = await loadSnapshot(ctx, ctx.db, actor, snapshotId);
  if (session.expired) throw new SyncError('snapshot_session_expired', 'snapshot session expired');
  const total = BigInt(session.row_count);
  if (after > total)
    throw new SyncError(CODE, `after_row_ordinal ${after} is beyond row_count ${total}`);
  const ttlMs = ctx.limits.snapshot_session_ttl_seconds * 1000;
  const expires = new Date(ctx.now().getTime() + ttlMs);
  // Extend only once half the TTL is used up: a read-only chunk GET stays read-only.
  await ctx.db.query(
    'UPDATE sync.snapshot_sessions SET expires_at = $2 WHERE snapshot_id = $1::uuid AND expires_at < $3',
    [snapshotId, expires, new Date(ctx.now().getTime() + ttlMs / 2)],
  );
  const { rows } = await ctx.db.query<{ byte_len: number; row_json: string }>(
    `SELECT byte_len, row_json FROM sync.snapshot_rows
      WHERE snapshot_id = $1::uuid AND row_ordinal > $2::int8 ORDER BY row_ordinal LIMIT $3`,
    [snapshotId, String(after), maxRows],
  );
  const first = rows[0];
  if (first && first.byte_len > maxBytes) {
    throw new SyncError(
      'snapshot_chunk_too_small',
      `max_bytes ${maxBytes} is smaller than the next row (${first.byte_len} bytes)`,
      {
        extra: { required_byte_count: first.byte_len },
      },
    );
  }
  const out: string[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (bytes + r.byte_len > maxBytes) break;
    bytes += r.byte_len;
    out.push(r.row_json);
  }
  if (out.length === 0 && after < total) {
    // The materialised rows are gone (the unlogged table was reset by a database crash).
    throw new SyncError(
      'snapshot_session_expired',
      'snapshot session data is no longer available; create a new session',
    );
  }
  const next = after + BigInt(out.length);
  return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${session.seq},"rows":[${out.join(',')}],"next_row_ordinal":${next},"has_more":${next < total},"byte_count":${bytes}}`;
}

/** `DELETE /sync/snapshot-sessions/{snapshot_id}`. */
export async function deleteSnapshot(
  ctx: ServiceContext,
  actor: Actor,
  snapshotId: string,
): Promise<void> {
  await loadSnapshot(ctx, ctx.db, actor, snapshotId);
  await ctx.db.query('DELETE FROM sync.snapshot_sessions WHERE snapshot_id = $1::uuid', [
    snapshotId,
  ]);
}
