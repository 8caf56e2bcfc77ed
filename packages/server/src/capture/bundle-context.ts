import type { Queryable } from '../db/sync-database.js';

/**
 * Opens a bundle context in the current transaction: the guard trigger then accepts
 * writes for this user and the capture triggers record them.
 *
 * Why transaction-local settings: a pooled connection can never leak the context.
 */
export async function openBundleContext(
  tx: Queryable,
  userId: string,
  userPk: string,
): Promise<void> {
  await tx.query(
    `SELECT set_config('oversync.user_id', $1, true), set_config('oversync.user_pk', $2, true),
            set_config('TimeZone', 'UTC', true)`,
    [userId, userPk],
  );
  await tx.query('SET CONSTRAINTS ALL DEFERRED');
}

/** Takes the captured events of this transaction off the capture table. */
export async function drainCaptured(
  tx: Queryable,
): Promise<{ tableId: number; op: 1 | 2 | 3; key: string; payload: string | null }[]> {
  const { rows } = await tx.query<{
    ord: string;
    table_id: number;
    op: number;
    key: string;
    payload: string | null;
  }>(
    `DELETE FROM sync.capture WHERE txid = pg_current_xact_id()
     RETURNING ord::text AS ord, table_id, op, key, payload`,
  );
  rows.sort((a, b) => (BigInt(a.ord) < BigInt(b.ord) ? -1 : 1));
  return rows.map((r) => ({
    tableId: r.table_id,
    op: r.op as 1 | 2 | 3,
    key: r.key,
    payload: r.payload,
  }));
}
