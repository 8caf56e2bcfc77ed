import { SyncError } from '@oversync/protocol';
import { g1PayloadSql, keyCast, keySql, payloadSql } from '../bootstrap/payload-sql.js';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import { readUser } from '../lifecycle/user-state.js';
import { goTimeText } from '../render/g1-payload.js';
import { qualified, quoteIdent } from '../util/sql.js';
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
      await tx.query(
        `INSERT INTO sync.snapshot_sessions (snapshot_id, user_pk, snapshot_bundle_seq, row_count, byte_count, expires_at)
         VALUES ($1::uuid, $2::int8, $3::int8, 0, 0, $4)`,
        [snapshotId, user.userPk, seq, expires],
      );
      // Per table: one INSERT … SELECT that renders, numbers and stores the rows, and hands
      // back only its count, byte sum and widest row (no re-scan of the materialised rows).
      // `OFFSET 0` keeps the subquery from being flattened: flattened, the row JSON
      // expression is substituted twice (row_json and octet_length) and rendered twice
      // per row, after the sort; unflattened it is rendered once, before it.
      let n = 0n;
      let bytes = 0n;
      let widest = 0n;
      const g1 = ctx.dialect === 'g1';
      // go-oversync renders timestamptz in the session time zone; pin it so the bytes do
      // not depend on the database's configuration.
      if (g1) await tx.query(`SELECT set_config('TimeZone', 'UTC', true)`);
      for (const t of ctx.catalog.tables) {
        const source = `FROM ${qualified(t.schema, t.table)} AS b
                       JOIN sync.row_state rs ON rs.user_pk = $3::int8 AND rs.table_id = $4
                            AND rs.key = ${keySql(t, 'b')} AND b.${quoteIdent(t.keyColumn)} = ${keyCast(t, 'rs.key')}
                            AND NOT rs.deleted
                      WHERE b._sync_scope_id = $7
                     OFFSET 0`;
        let head: string;
        let tail: string;
        let rowsSql: string;
        if (g1) {
          // go-oversync's member order (schema, table, key, row_version, payload); byte_len
          // holds the row's share of the G1 byte_count (its payload's stored jsonb length).
          const { payload, hasBlob, byteLen } = g1PayloadSql(t, 'b');
          head = `{"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)},"key":{${JSON.stringify(t.keyColumn)}:`;
          tail = '}';
          rowsSql = `SELECT y.k, ${byteLen('y.p', 'y.hb')} AS len,
                            $5 || to_json(y.k)::text || '},"row_version":' || y.v || ',"payload":' || y.p || $6 AS j
                       FROM (SELECT ${keySql(t, 'b')} AS k, ${payload} AS p, ${hasBlob} AS hb,
                                    rs.bundle_seq::text AS v
                             ${source}) AS y`;
        } else {
          head = `{"key":{${JSON.stringify(t.keyColumn)}:`;
          tail = `,"schema":${JSON.stringify(t.schema)},"table":${JSON.stringify(t.table)}}`;
          rowsSql = `SELECT k, octet_length(j) AS len, j
                       FROM (SELECT ${keySql(t, 'b')} AS k,
                            $5 || to_json(${keySql(t, 'b')})::text || '},"payload":' || ${payloadSql(t, 'b')}
                               || ',"row_version":' || rs.bundle_seq::text || $6 AS j
                       ${source}) AS z`;
        }
        const { rows: totals } = await tx.query<{ n: string; bytes: string; widest: string }>(
          `WITH ins AS (
             INSERT INTO sync.snapshot_rows (snapshot_id, row_ordinal, byte_len, row_json)
             SELECT $1::uuid, $2::int8 + row_number() OVER (ORDER BY x.k COLLATE "C"), x.len, x.j
               FROM (${rowsSql}) AS x
             RETURNING byte_len)
           SELECT count(*)::text AS n, COALESCE(sum(byte_len), 0)::text AS bytes,
                  COALESCE(max(byte_len), 0)::text AS widest
             FROM ins`,
          [snapshotId, String(n), user.userPk, t.tableId, head, tail, actor.userId],
        );
        n += BigInt(totals[0]?.n ?? '0');
        bytes += BigInt(totals[0]?.bytes ?? '0');
        const w = BigInt(totals[0]?.widest ?? '0');
        if (w > widest) widest = w;
      }
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
      await tx.query(
        'UPDATE sync.snapshot_sessions SET row_count = $2::int8, byte_count = $3::int8 WHERE snapshot_id = $1::uuid',
        [snapshotId, String(n), String(bytes)],
      );
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
