import { ADOPTION_SOURCE_PREFIX } from '@oversync/protocol';
import { type CommittedBundle, writeBundle } from '../capture/bundle-writer.js';
import { type BundleEffect, OP_INSERT } from '../capture/normalize.js';
import type { Queryable } from '../db/sync-database.js';
import { lockUser, markInitialized, SCOPE_INITIALIZED } from '../lifecycle/user-state.js';
import { qualified } from '../util/sql.js';
import type { Catalog } from './catalog.js';
import { keySql, payloadSql } from './payload-sql.js';
import type { TableInfo } from './table-info.js';

/**
 * Adopts rows that exist in newly registered tables but have no sync state: per user, one
 * baseline bundle of INSERTs from source `oversync-adoption:<uuid>`, and an uninitialized
 * scope becomes initialized (so connecting clients take the server's state).
 */
export async function adoptExistingRows(
  tx: Queryable,
  catalog: Catalog,
  tables: readonly TableInfo[],
  now: Date,
  randomUUID: () => string,
): Promise<CommittedBundle[]> {
  if (tables.length === 0) return [];
  const byUser = new Map<string, BundleEffect[]>();
  for (const t of tables) {
    const { rows } = await tx.query<{ scope: string; key: string; payload: string }>(
      `SELECT b._sync_scope_id AS scope, ${keySql(t, 'b')} AS key, ${payloadSql(t, 'b')} AS payload
         FROM ${qualified(t.schema, t.table)} AS b
        WHERE NOT EXISTS (SELECT 1 FROM sync.user_state us JOIN sync.row_state rs ON rs.user_pk = us.user_pk
                           WHERE us.user_id = b._sync_scope_id AND rs.table_id = $1 AND rs.key = ${keySql(t, 'b')})
        ORDER BY b._sync_scope_id, ${keySql(t, 'b')} COLLATE "C"`,
      [t.tableId],
    );
    for (const r of rows) {
      let list = byUser.get(r.scope);
      if (!list) {
        list = [];
        byUser.set(r.scope, list);
      }
      list.push({ tableId: t.tableId, op: OP_INSERT, key: r.key, payload: r.payload });
    }
  }
  const out: CommittedBundle[] = [];
  for (const [userId, effects] of byUser) {
    const user = await lockUser(tx, userId, now);
    const sourceId = `${ADOPTION_SOURCE_PREFIX}${randomUUID()}`;
    out.push(
      await writeBundle(
        tx,
        catalog,
        {
          userPk: user.userPk,
          bundleSeq: user.nextBundleSeq,
          sourceId,
          sourceBundleId: '1',
          requestHash: null,
        },
        effects,
      ),
    );
    if (user.scopeState !== SCOPE_INITIALIZED)
      await markInitialized(tx, user.userPk, sourceId, now);
  }
  return out;
}
