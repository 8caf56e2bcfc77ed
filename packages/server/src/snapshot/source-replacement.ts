import { isValidSourceId, SNAPSHOT_REPLACEMENT_REASONS, SyncError } from '@oversync/protocol';
import type { Queryable } from '../db/sync-database.js';
import { sourceRetired } from '../push/source-state.js';

/** A rotated rebuild's request. */
export interface SourceReplacement {
  previousSourceId: string;
  newSourceId: string;
  reason: string;
}

/** Parses the snapshot-session body: absent/empty/`{}`/`null` = plain snapshot. */
export function parseSnapshotCreate(body: unknown, headerSource: string): SourceReplacement | null {
  if (body === undefined || body === null) return null;
  const bad = (m: string) => new SyncError('snapshot_session_invalid', m);
  if (typeof body !== 'object' || Array.isArray(body))
    throw bad('snapshot session request must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (k !== 'source_replacement') throw bad(`unknown member ${k}`);
  const r = b.source_replacement;
  if (r === undefined || r === null) return null;
  if (typeof r !== 'object' || Array.isArray(r)) throw bad('source_replacement must be an object');
  const sr = r as Record<string, unknown>;
  for (const k of Object.keys(sr)) {
    if (k !== 'previous_source_id' && k !== 'new_source_id' && k !== 'reason')
      throw bad(`unknown member source_replacement.${k}`);
  }
  const { previous_source_id: prev, new_source_id: next, reason } = sr;
  if (typeof prev !== 'string' || prev !== headerSource) {
    throw bad('source_replacement.previous_source_id must equal the Oversync-Source-ID header');
  }
  if (typeof next !== 'string' || !isValidSourceId(next) || next === prev) {
    throw bad('source_replacement.new_source_id must be a new, valid source id');
  }
  if (
    typeof reason !== 'string' ||
    !(SNAPSHOT_REPLACEMENT_REASONS as readonly string[]).includes(reason)
  ) {
    throw bad(
      `source_replacement.reason must be one of ${SNAPSHOT_REPLACEMENT_REASONS.join(', ')}`,
    );
  }
  return { previousSourceId: prev, newSourceId: next, reason };
}

/**
 * Retires the previous source and reserves the new one (idempotent for a retry with the
 * same replacement).
 */
export async function applySourceReplacement(
  tx: Queryable,
  userPk: string,
  r: SourceReplacement,
): Promise<void> {
  const { rows } = await tx.query<{ source_id: string; state: string; replaced_by: string | null }>(
    `SELECT source_id, state, replaced_by_source_id AS replaced_by FROM sync.source_state
      WHERE user_pk = $1::int8 AND source_id = ANY($2::text[]) ORDER BY source_id FOR UPDATE`,
    [userPk, [r.previousSourceId, r.newSourceId]],
  );
  const prev = rows.find((x) => x.source_id === r.previousSourceId);
  const next = rows.find((x) => x.source_id === r.newSourceId);
  if (prev?.state === 'retired') {
    if (prev.replaced_by !== r.newSourceId)
      throw sourceRetired(r.previousSourceId, prev.replaced_by);
    if (next && next.state === 'retired') {
      throw new SyncError(
        'source_replacement_invalid',
        `replacement source ${r.newSourceId} is retired`,
      );
    }
    if (!next) {
      await tx.query(
        `INSERT INTO sync.source_state (user_pk, source_id, state) VALUES ($1::int8, $2, 'reserved')`,
        [userPk, r.newSourceId],
      );
    }
    return;
  }
  if (next)
    throw new SyncError(
      'source_replacement_invalid',
      `replacement source ${r.newSourceId} is already known`,
    );
  await tx.query(
    `INSERT INTO sync.source_state (user_pk, source_id, state) VALUES ($1::int8, $2, 'reserved')`,
    [userPk, r.newSourceId],
  );
  await tx.query(
    `INSERT INTO sync.source_state (user_pk, source_id, state, replaced_by_source_id, retirement_reason)
     VALUES ($1::int8, $2, 'retired', $3, $4)
     ON CONFLICT (user_pk, source_id) DO UPDATE
       SET state = 'retired', replaced_by_source_id = EXCLUDED.replaced_by_source_id,
           retirement_reason = EXCLUDED.retirement_reason`,
    [userPk, r.previousSourceId, r.newSourceId, r.reason],
  );
}
