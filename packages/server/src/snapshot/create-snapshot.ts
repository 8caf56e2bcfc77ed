import { SyncError } from '@oversync/protocol';
import { g1PayloadSql, keyCast, keySql, payloadSql } from '../bootstrap/payload-sql.js';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import { readUser } from '../lifecycle/user-state.js';
import { goTimeText } from '../render/g1-payload.js';
import { qualified, quoteIdent, quoteLiteral } from '../util/sql.js';
import { applySourceReplacement, parseSnapshotCreate } from './source-replacement.js';

function limitExceeded(dimension: string, actual: bigint, limit: number): SyncError {
  return new SyncError(
    'snapshot_session_limit_exceeded',
    `snapshot ${dimension} ${actual} exceeds the limit ${limit}`,
    {
      extra: { dimension, actual: Number(actual), limit },
    },
  );
}

/**
 * `POST /sync/snapshot-sessions`: freezes the user's live rows at the current bundle_seq.
 *
 * One REPEATABLE READ transaction reads business rows and row versions from one MVCC
 * snapshot, so the frozen set equals the state at exactly `snapshot_bundle_seq`. Rows are
 * materialised server-side with one INSERT … SELECT per table (no row ever visits JS),
 * each stored as its final wire JSON with its byte length.
 */
export async function createSnapshot(
  ctx: ServiceContext,
  actor: Actor,
  body: unknown,
): Promise<string> {
  const replacement = parseSnapshotCreate(body, actor.sourceId);
  const limits = ctx.limits;
  return ctx.writeTx(
    async (tx) => {
      const now = ctx.now();
      const user = await readUser(tx, actor.userId, now);
      requireInitialized(user);
      if (replacement) await applySourceReplacement(tx, user.userPk, replacement);
      await tx.query(
        'DELETE FROM sync.snapshot_sessions WHERE user_pk = $1::int8 AND expires_at <= $2',
        [user.userPk, now],
      );
      // The pre-check reads every live row state of the user, so it runs only when the
      // limit is on (it is off by default); the totals after materialising check it again.
      if (limits.max_rows_per_snapshot_session > 0) {
        const { rows: counted } = await tx.query<{ n: string }>(
          'SELECT count(*)::text AS n FROM sync.row_state WHERE user_pk = $1::int8 AND NOT deleted',
          [user.userPk],
        );
        const liveRows = BigInt(counted[0]?.n ?? '0');
        if (liveRows > BigInt(limits.max_rows_per_snapshot_session)) {
          throw limitExceeded('row_count', liveRows, limits.max_rows_per_snapshot_session);
        }
      }
      const snapshotId = ctx.randomUUID();
      const seq = (BigInt(user.nextBundleSeq) - 1n).toString();
      const expires = new Date(now.getTime() + limits.snapshot_session_ttl_seconds * 1000);
      const g1 = ctx.dialect === 'g1';
      // One statement for the whole snapshot: every table's rows are rendered, numbered (by
      // table, then key) and stored, the session row is written with the totals, and only
      // the count, byte sum and widest row come back (no re-scan of the materialised rows).
      // Per table, `OFFSET 0` keeps the subquery from being flattened: flattened, the row
      // JSON expression is substituted twice (row_json and octet_length) and rendered twice
      // per row, after the sort; unflattened it is rendered once, before it.
      const parts = ctx.catalog.tables.map((t, tord) => {
        const source = `FROM ${qualified(t.schema, t.table)} AS b
                       JOIN sync.row_state rs ON rs.user_pk = $2::int8 AND rs.table_id = ${t.tableId}
                            AND rs.key = ${keySql(t, 'b')} AND b.${quoteIdent(t.keyColumn)} = ${keyCast(t, 'rs.key')}
                            AND NOT rs.deleted
                      WHERE b._sync_scope_id = $3
                     OFFSET 0`;
        if (g1) {
          // go-oversync's member order (schema, table, key, row_version, payload); byte_len
          // holds the row's share of the G1 byte_count (its payload's stored jsonb length).
          const { payload, hasBlob, byteLen } = g1PayloadSql(t, 'b');
          const head = quoteLiteral(
            `{"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)},"key":{${JSON.stringify(t.keyColumn)}:`,
          );
          return `SELECT ${tord} AS tord, y.k, ${byteLen('y.p', 'y.hb')} AS len,
                         ${head} || to_json(y.k)::text || '},"row_version":' || y.v || ',"payload":' || y.p || '}' AS j
                    FROM (SELECT ${keySql(t, 'b')} AS k, ${payload} AS p, ${hasBlob} AS hb,
                                 rs.bundle_seq::text AS v
                          ${source}) AS y`;
        }
        const head = quoteLiteral(`{"key":{${JSON.stringify(t.keyColumn)}:`);
        const tail = quoteLiteral(
          `,"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)}}`,
        );
        return `SELECT ${tord} AS tord, k, octet_length(j) AS len, j
                  FROM (SELECT ${keySql(t, 'b')} AS k,
                               ${head} || to_json(${keySql(t, 'b')})::text || '},"payload":' || ${payloadSql(t, 'b')}
                                  || ',"row_version":' || rs.bundle_seq::text || ${tail} AS j
                        ${source}) AS z`;
      });
      const { rows: totals } = await tx.query<{ n: string; bytes: string; widest: string }>(
        `WITH ins AS (
           INSERT INTO sync.snapshot_rows (snapshot_id, row_ordinal, byte_len, row_json)
           SELECT $1::uuid, row_number() OVER (ORDER BY x.tord, x.k COLLATE "C"), x.len, x.j
             FROM (${parts.length > 0 ? parts.join('\n UNION ALL \n') : 'SELECT 0 AS tord, NULL::text AS k, 0 AS len, NULL::text AS j WHERE false'}) AS x
           RETURNING byte_len),
         tot AS (
           SELECT count(*) AS n, COALESCE(sum(byte_len), 0) AS bytes, COALESCE(max(byte_len), 0) AS widest
             FROM ins),
         sess AS (
           INSERT INTO sync.snapshot_sessions (snapshot_id, user_pk, snapshot_bundle_seq, row_count, byte_count, expires_at)
           SELECT $1::uuid, $2::int8, $4::int8, tot.n, tot.bytes, $5 FROM tot)
         SELECT n::text AS n, bytes::text AS bytes, widest::text AS widest FROM tot`,
        [snapshotId, user.userPk, actor.userId, seq, expires],
      );
      const n = BigInt(totals[0]?.n ?? '0');
      const bytes = BigInt(totals[0]?.bytes ?? '0');
      const widest = BigInt(totals[0]?.widest ?? '0');
      const over = (limit: number, actual: bigint) => limit > 0 && actual > BigInt(limit);
      if (over(limits.max_rows_per_snapshot_session, n)) {
        throw limitExceeded('row_count', n, limits.max_rows_per_snapshot_session);
      }
      if (over(limits.max_bytes_per_snapshot_session, bytes)) {
        throw limitExceeded('byte_count', bytes, limits.max_bytes_per_snapshot_session);
      }
      // The per-row limit protects byte-bounded G2 chunks; G1 chunks are bounded by rows only.
      if (!g1 && over(limits.max_bytes_per_snapshot_row, widest)) {
        throw limitExceeded('row_byte_count', widest, limits.max_bytes_per_snapshot_row);
      }
      if (g1) {
        // go-oversync omits a zero byte_count (Go `omitempty`).
        return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${seq},"row_count":${n}${
          bytes > 0n ? `,"byte_count":${bytes}` : ''
        },"expires_at":"${goTimeText(expires)}"}`;
      }
      return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${seq},"row_count":${n},"byte_count":${bytes},"expires_at":"${expires.toISOString()}"}`;
    },
    { isolation: 'repeatable read' },
  );
}
