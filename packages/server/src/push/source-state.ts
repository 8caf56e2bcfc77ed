import { SyncError } from '@oversync/protocol';
import type { Queryable } from '../db/sync-database.js';

/**
 * The next `source_bundle_id` a source may commit, locking its row; throws
 * `source_retired` for a retired source.
 */
export async function expectedSourceBundleId(
  tx: Queryable,
  userPk: string,
  sourceId: string,
  lock: boolean,
): Promise<bigint> {
  const { rows } = await tx.query<{ state: string; max: string; replaced_by: string | null }>(
    `SELECT state, max_committed_source_bundle_id::text AS max, replaced_by_source_id AS replaced_by
       FROM sync.source_state WHERE user_pk = $1::int8 AND source_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [userPk, sourceId],
  );
  const s = rows[0];
  if (!s) return 1n;
  if (s.state === 'retired') throw sourceRetired(sourceId, s.replaced_by);
  return BigInt(s.max) + 1n;
}

/** The structured `source_retired` error. */
export function sourceRetired(sourceId: string, replacedBy: string | null): SyncError {
  return new SyncError(
    'source_retired',
    `source ${sourceId} was retired${replacedBy ? ` and replaced by ${replacedBy}` : ''}`,
    {
      extra: replacedBy
        ? { source_id: sourceId, replaced_by_source_id: replacedBy }
        : { source_id: sourceId },
    },
  );
}
