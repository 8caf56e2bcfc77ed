import { SyncError } from '@oversync/protocol';
import type { Catalog } from '../bootstrap/catalog.js';
import { g1PayloadSql, keyCast, payloadSql } from '../bootstrap/payload-sql.js';
import { OP_NAMES, type OpCode } from '../capture/normalize.js';
import type { Queryable } from '../db/sync-database.js';
import type { Dialect } from '../render/dialect.js';
import { qualified, quoteIdent } from '../util/sql.js';

/**
 * Finds the first staged row whose `base_row_version` disagrees with the server's row
 * version and throws the structured `push_conflict`.
 *
 * | op | server row | accepted when |
 * | INSERT | none | base = 0 |
 * | INSERT | tombstone at V | base = V |
 * | INSERT | live | never |
 * | UPDATE/DELETE | live at V | base = V |
 * | UPDATE/DELETE | none or tombstone | never |
 */
/** A staged row that failed the version check. */
export interface ConflictRow {
  table_id: number;
  key: string;
  op: number;
  base: string;
  server_version: string | null;
  deleted: boolean | null;
}

/**
 * SQL selecting the first conflicting staged row of push session `pushIdRef` for user
 * `userPkRef` (both SQL expressions), as the columns of {@link ConflictRow}.
 */
export function firstConflictSql(pushIdRef: string, userPkRef: string): string {
  return `SELECT r.table_id, r.key, r.op, r.base_row_version::text AS base,
            rs.bundle_seq::text AS server_version, rs.deleted
       FROM sync.push_session_rows r
       -- LATERAL + LIMIT 1: every probe uses the full primary key whatever the statistics say
       -- (a plain join degenerates to rescanning all of the user's row states per staged row).
       LEFT JOIN LATERAL (SELECT x.user_pk, x.bundle_seq, x.deleted FROM sync.row_state x
                           WHERE x.user_pk = ${userPkRef} AND x.table_id = r.table_id AND x.key = r.key
                           LIMIT 1) rs ON true
      WHERE r.push_id = ${pushIdRef} AND NOT (
        CASE WHEN r.op = 1 THEN (rs.user_pk IS NULL AND r.base_row_version = 0)
                              OR (rs.deleted AND r.base_row_version = rs.bundle_seq)
             ELSE rs.user_pk IS NOT NULL AND NOT rs.deleted AND r.base_row_version = rs.bundle_seq END)
      ORDER BY r.row_ordinal LIMIT 1`;
}

/** Throws the structured `push_conflict` for a conflicting staged row. */
export async function throwConflict(
  tx: Queryable,
  catalog: Catalog,
  c: ConflictRow,
  userId: string,
  dialect: Dialect = 'g2',
): Promise<never> {
  const t = catalog.byId(c.table_id);
  const live = c.server_version !== null && c.deleted === false;
  let serverRow = 'null';
  if (live) {
    const res = await tx.query<{ payload: string }>(
      `SELECT ${dialect === 'g1' ? g1PayloadSql(t, 'b').payload : payloadSql(t, 'b')} AS payload FROM ${qualified(t.schema, t.table)} AS b
        WHERE b._sync_scope_id = $1 AND b.${quoteIdent(t.keyColumn)} = ${keyCast(t, '$2')}`,
      [userId, c.key],
    );
    serverRow = res.rows[0]?.payload ?? 'null';
  }
  const op = OP_NAMES[c.op as OpCode];
  const reason =
    c.op === 1
      ? live
        ? 'row already exists'
        : `expected base_row_version ${c.server_version ?? 0}, got ${c.base}`
      : live
        ? `expected version ${c.server_version}, got ${c.base}`
        : 'row does not exist';
  throw new SyncError(
    'push_conflict',
    `${op.toLowerCase()} conflict on ${t.schema}.${t.table} ${c.key}: ${reason}`,
    {
      extra: {
        conflict: new RawConflict(
          `{"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)},"key":{${JSON.stringify(
            t.keyColumn,
          )}:${JSON.stringify(c.key)}},"op":"${op}","base_row_version":${c.base},"server_row_version":${
            c.server_version ?? '0'
          },"server_row_deleted":${c.deleted === true},"server_row":${serverRow}}`,
        ),
      },
    },
  );
}

/** JSON text embedded verbatim into an error body (keeps exact numbers). */
export class RawConflict {
  constructor(readonly json: string) {}
  toJSON(): unknown {
    return JSON.parse(this.json);
  }
}
