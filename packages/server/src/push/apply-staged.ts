import type { Catalog } from '../bootstrap/catalog.js';
import { keyCast } from '../bootstrap/payload-sql.js';
import { OP_DELETE, OP_INSERT } from '../capture/normalize.js';
import type { Queryable } from '../db/sync-database.js';
import { qualified, quoteIdent } from '../util/sql.js';

/** One set-based apply statement: the staged rows of one table, op and column set. */
export interface ApplyGroup {
  table_id: number;
  op: number;
  colset: string;
}

/**
 * Applies a committed push session's staged rows to the business tables, set-based:
 * one statement per (table, op, column set), straight from the staging table.
 *
 * Why DELETE, then UPDATE, then INSERT: foreign keys are deferred, so only non-deferrable
 * unique constraints care about order, and freeing values before claiming them is the
 * order that cannot fail spuriously.
 */
export async function applyStagedRows(
  tx: Queryable,
  catalog: Catalog,
  pushId: string,
  userId: string,
  groups: readonly ApplyGroup[],
): Promise<void> {
  for (const g of groups) {
    const t = catalog.byId(g.table_id);
    const target = qualified(t.schema, t.table);
    const key = quoteIdent(t.keyColumn);
    if (g.op === OP_DELETE) {
      await tx.query(
        `DELETE FROM ${target} AS d USING sync.push_session_rows r
          WHERE r.push_id = $1::uuid AND r.table_id = $2 AND r.op = 3
            AND d._sync_scope_id = $3 AND d.${key} = ${keyCast(t, 'r.key')}`,
        [pushId, g.table_id, userId],
      );
      continue;
    }
    const cols = g.colset.split(',');
    if (g.op === OP_INSERT) {
      const list = cols.map(quoteIdent).join(', ');
      await tx.query(
        `INSERT INTO ${target} (_sync_scope_id, ${list})
         SELECT $3, ${cols.map((c) => `s.${quoteIdent(c)}`).join(', ')}
           FROM sync.push_session_rows r, jsonb_populate_record(NULL::${target}, r.apply_payload) AS s
          WHERE r.push_id = $1::uuid AND r.table_id = $2 AND r.op = 1 AND r.colset = $4
          ORDER BY r.row_ordinal`,
        [pushId, g.table_id, userId, g.colset],
      );
      continue;
    }
    const sets = cols
      .filter((c) => c !== t.keyColumn)
      .map((c) => `${quoteIdent(c)} = s.${quoteIdent(c)}`);
    // An UPDATE that only names the key still touches the row, so it is captured.
    if (sets.length === 0) sets.push(`${key} = d.${key}`);
    await tx.query(
      `UPDATE ${target} AS d SET ${sets.join(', ')}
         FROM sync.push_session_rows r, jsonb_populate_record(NULL::${target}, r.apply_payload) AS s
        WHERE r.push_id = $1::uuid AND r.table_id = $2 AND r.op = 2 AND r.colset = $4
          AND d._sync_scope_id = $3 AND d.${key} = ${keyCast(t, 'r.key')}`,
      [pushId, g.table_id, userId, g.colset],
    );
  }
}
