import { SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { sqlState } from '../db/sync-database.js';
import { requireSeedLease } from './create-session.js';
import { prepareRow, type StagedRow } from './push-row.js';
import { lockUserAndSession } from './push-session-row.js';

/** `POST /sync/push-sessions/{push_id}/chunks`. */
export async function uploadChunk(
  ctx: ServiceContext,
  actor: Actor,
  pushId: string,
  body: unknown,
): Promise<string> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SyncError('invalid_request', 'push chunk must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const start = b.start_row_ordinal;
  if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0) {
    throw new SyncError('push_chunk_invalid', 'start_row_ordinal must be a non-negative integer');
  }
  if (!Array.isArray(b.rows) || b.rows.length === 0) {
    throw new SyncError('push_chunk_invalid', 'rows must be a non-empty array');
  }
  if (b.rows.length > ctx.limits.max_rows_per_push_chunk) {
    throw new SyncError(
      'push_chunk_invalid',
      `a chunk holds at most ${ctx.limits.max_rows_per_push_chunk} rows`,
    );
  }
  // Validate every row before touching the session, so bad input changes nothing.
  const withHash = ctx.dialect !== 'g1';
  const rows: StagedRow[] = b.rows.map((r, i) => prepareRow(ctx.catalog, r, i, withHash));
  const targets = new Set<string>();
  for (const [i, r] of rows.entries()) {
    const id = `${r.tableId}\u0000${r.key}`;
    if (targets.has(id))
      throw new SyncError('push_chunk_invalid', `rows[${i}]: duplicate target row in chunk`);
    targets.add(id);
  }
  try {
    return await ctx.writeTx(async (tx) => {
      // Lock order everywhere: user row first, then session rows (no deadlock with create).
      const { user, session } = await lockUserAndSession(ctx, tx, actor, pushId);
      if (session.initializationId) {
        await requireSeedLease(ctx, tx, user, actor.sourceId, session.initializationId);
      }
      const next = BigInt(session.nextExpected);
      if (BigInt(start) !== next) {
        throw new SyncError(
          'push_chunk_out_of_order',
          `start_row_ordinal ${start} is not the next expected ${next}`,
          {
            extra: { next_expected_row_ordinal: Number(next) },
          },
        );
      }
      const end = next + BigInt(rows.length);
      const chunkBytes = rows.reduce(
        (n, r) => n + (r.applyPayload === null ? 0 : Buffer.byteLength(r.applyPayload)),
        0,
      );
      const stagedBytes = BigInt(session.stagedBytes) + BigInt(chunkBytes);
      if (
        ctx.limits.max_bytes_per_bundle > 0 &&
        stagedBytes > BigInt(ctx.limits.max_bytes_per_bundle)
      ) {
        throw new SyncError(
          'push_chunk_invalid',
          `bundle payloads exceed max_bytes_per_bundle ${ctx.limits.max_bytes_per_bundle}`,
        );
      }
      if (end > BigInt(session.plannedRowCount)) {
        throw new SyncError(
          'push_chunk_invalid',
          `chunk exceeds planned_row_count ${session.plannedRowCount}`,
        );
      }
      const expires = new Date(ctx.now().getTime() + ctx.limits.push_session_ttl_seconds * 1000);
      // Stage the rows and advance the session in one statement.
      await tx.query(
        `WITH staged AS (
           INSERT INTO sync.push_session_rows (push_id, row_ordinal, table_id, key, op, base_row_version, colset, apply_payload, hash_item)
           SELECT $1::uuid, $2::int8 + r.ord - 1, r.tid, r.key, r.op, r.base, r.colset, r.payload::jsonb, r.head || ($2::int8 + r.ord - 1)::text || r.tail
             FROM unnest($3::int4[], $4::text[], $5::int2[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::text[])
                  WITH ORDINALITY AS r(tid, key, op, base, colset, payload, head, tail, ord)
         )
         UPDATE sync.push_sessions SET next_expected_row_ordinal = $11::int8, expires_at = $12, staged_bytes = $13::int8
          WHERE push_id = $1::uuid`,
        [
          pushId,
          String(start),
          rows.map((r) => r.tableId),
          rows.map((r) => r.key),
          rows.map((r) => r.op),
          rows.map((r) => r.baseRowVersion),
          rows.map((r) => r.colset),
          rows.map((r) => r.applyPayload),
          rows.map((r) => r.hashItemHead),
          rows.map((r) => r.hashItemTail),
          String(end),
          expires,
          String(stagedBytes),
        ],
      );
      return `{"push_id":${JSON.stringify(pushId)},"next_expected_row_ordinal":${end}}`;
    });
  } catch (err) {
    if (sqlState(err) === '23505') {
      throw new SyncError(
        'push_chunk_invalid',
        'a row targets a (table, key) already uploaded in this session',
      );
    }
    throw err;
  }
}
