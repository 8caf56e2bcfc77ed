import { SyncError } from '@oversync/protocol';
import { g1PayloadSql, keyCast, keySql, payloadSql } from '../bootstrap/payload-sql.js';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import {
  readUser,
  SCOPE_INITIALIZED,
  USER_COLUMNS,
  userJsonSql,
  userStateFromJson,
} from '../lifecycle/user-state.js';
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
 * One SELECT per registered table producing `(tord, k, len, j)`: the table's order, the key,
 * the row's share of `byte_count` and the row's final wire JSON. Per table, `OFFSET 0` keeps
 * the subquery from being flattened: flattened, the row JSON expression is substituted twice
 * (row_json and octet_length) and rendered twice per row, after the sort.
 */
function snapshotRowSelects(ctx: ServiceContext, userPkRef: string, scopeRef: string): string[] {
  const g1 = ctx.dialect === 'g1';
  return ctx.catalog.tables.map((t, tord) => {
    const source = `FROM ${qualified(t.schema, t.table)} AS b
                   JOIN sync.row_state rs ON rs.user_pk = ${userPkRef} AND rs.table_id = ${t.tableId}
                        AND rs.key = ${keySql(t, 'b')} AND b.${quoteIdent(t.keyColumn)} = ${keyCast(t, 'rs.key')}
                        AND NOT rs.deleted
                  WHERE b._sync_scope_id = ${scopeRef}
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
  if (!replacement && limits.max_rows_per_snapshot_session <= 0) {
    return createSnapshotInOneStatement(ctx, actor);
  }
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
      const { rows: totals } = await tx.query<{ n: string; bytes: string; widest: string }>(
        `WITH ${materializeCtes(ctx, { userPk: '$2::int8', scope: '$3', seq: '$4::int8', expires: '$5' })}
         SELECT n::text AS n, bytes::text AS bytes, widest::text AS widest FROM tot`,
        [snapshotId, user.userPk, actor.userId, seq, expires],
      );
      const n = BigInt(totals[0]?.n ?? '0');
      const bytes = BigInt(totals[0]?.bytes ?? '0');
      const widest = BigInt(totals[0]?.widest ?? '0');
      checkTotals(ctx, n, bytes, widest);
      return sessionJson(ctx, snapshotId, seq, n, bytes, expires);
    },
    { isolation: 'repeatable read' },
  );
}

/**
 * The CTEs `ins`, `tot` and `sess` that materialise a snapshot in one statement: every
 * table's rows rendered, numbered (by table, then key) and stored as `$1`, the session row
 * written with the totals, and `tot` holding the count, byte sum and widest row (so the
 * materialised rows are never re-scanned). The refs are SQL for the user, scope, sequence
 * and expiry; `when` guards the session row.
 */
function materializeCtes(
  ctx: ServiceContext,
  refs: { userPk: string; scope: string; seq: string; expires: string; when?: string },
): string {
  const parts = snapshotRowSelects(ctx, refs.userPk, refs.scope);
  const rows =
    parts.length > 0
      ? parts.join('\n UNION ALL \n')
      : 'SELECT 0 AS tord, NULL::text AS k, 0 AS len, NULL::text AS j WHERE false';
  return `ins AS (
       INSERT INTO sync.snapshot_rows (snapshot_id, row_ordinal, byte_len, row_json)
       SELECT $1::uuid, row_number() OVER (ORDER BY x.tord, x.k COLLATE "C"), x.len, x.j
         FROM (${rows}) AS x
       RETURNING byte_len),
     tot AS (
       SELECT count(*) AS n, COALESCE(sum(byte_len), 0) AS bytes, COALESCE(max(byte_len), 0) AS widest
         FROM ins),
     sess AS (
       INSERT INTO sync.snapshot_sessions (snapshot_id, user_pk, snapshot_bundle_seq, row_count, byte_count, expires_at)
       SELECT $1::uuid, ${refs.userPk}, ${refs.seq}, tot.n, tot.bytes, ${refs.expires} FROM tot
        WHERE ${refs.when ?? 'true'})`;
}

/**
 * The common case (no source replacement, no row-count pre-check) as one autocommit
 * statement: the user row, the sweep of the user's expired sessions, every table's rows and
 * the session row — one round trip and one snapshot of the data, as the transaction of the
 * general path gives. When the user's scope is not initialized nothing is written. A limit
 * exceeded after materialising deletes the session again (its rows go with it) before the
 * error, so nothing a client could see remains.
 */
async function createSnapshotInOneStatement(ctx: ServiceContext, actor: Actor): Promise<string> {
  const limits = ctx.limits;
  const now = ctx.now();
  const snapshotId = ctx.randomUUID();
  const expires = new Date(now.getTime() + limits.snapshot_session_ttl_seconds * 1000);
  const { rows } = await ctx.db.query<{
    meta: string | null;
    seq: string | null;
    n: string;
    bytes: string;
    widest: string;
  }>(
    `WITH u AS (SELECT ${USER_COLUMNS}, user_pk AS pk, next_bundle_seq - 1 AS latest, scope_state AS st
                  FROM sync.user_state WHERE user_id = $2),
          ok AS (SELECT pk, latest FROM u WHERE st = ${SCOPE_INITIALIZED}),
          gone AS (DELETE FROM sync.snapshot_sessions s USING ok WHERE s.user_pk = ok.pk AND s.expires_at <= $3),
          ${materializeCtes(ctx, {
            userPk: '(SELECT pk FROM ok)',
            scope: '$2',
            seq: '(SELECT latest FROM ok)',
            expires: '$4',
            when: 'EXISTS (SELECT 1 FROM ok)',
          })}
     SELECT ${userJsonSql('u')} AS meta,
            (SELECT latest::text FROM ok) AS seq,
            n::text AS n, bytes::text AS bytes, widest::text AS widest
       FROM tot`,
    [snapshotId, actor.userId, now, expires],
  );
  const r = rows[0];
  const user = userStateFromJson(r?.meta, now);
  requireInitialized(user);
  const n = BigInt(r?.n ?? '0');
  const bytes = BigInt(r?.bytes ?? '0');
  const widest = BigInt(r?.widest ?? '0');
  try {
    checkTotals(ctx, n, bytes, widest);
  } catch (err) {
    await ctx.db.query('DELETE FROM sync.snapshot_sessions WHERE snapshot_id = $1::uuid', [
      snapshotId,
    ]);
    throw err;
  }
  return sessionJson(ctx, snapshotId, r?.seq ?? user.nextBundleSeq, n, bytes, expires);
}

/** Throws when the materialised totals exceed a configured limit. */
function checkTotals(ctx: ServiceContext, n: bigint, bytes: bigint, widest: bigint): void {
  const limits = ctx.limits;
  const over = (limit: number, actual: bigint) => limit > 0 && actual > BigInt(limit);
  if (over(limits.max_rows_per_snapshot_session, n)) {
    throw limitExceeded('row_count', n, limits.max_rows_per_snapshot_session);
  }
  if (over(limits.max_bytes_per_snapshot_session, bytes)) {
    throw limitExceeded('byte_count', bytes, limits.max_bytes_per_snapshot_session);
  }
  // The per-row limit protects byte-bounded G2 chunks; G1 chunks are bounded by rows only.
  if (ctx.dialect !== 'g1' && over(limits.max_bytes_per_snapshot_row, widest)) {
    throw limitExceeded('row_byte_count', widest, limits.max_bytes_per_snapshot_row);
  }
}

/** The session body in the mount's dialect. */
function sessionJson(
  ctx: ServiceContext,
  snapshotId: string,
  seq: string,
  n: bigint,
  bytes: bigint,
  expires: Date,
): string {
  if (ctx.dialect === 'g1') {
    // go-oversync omits a zero byte_count (Go `omitempty`).
    return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${seq},"row_count":${n}${
      bytes > 0n ? `,"byte_count":${bytes}` : ''
    },"expires_at":"${goTimeText(expires)}"}`;
  }
  return `{"snapshot_id":"${snapshotId}","snapshot_bundle_seq":${seq},"row_count":${n},"byte_count":${bytes},"expires_at":"${expires.toISOString()}"}`;
}
