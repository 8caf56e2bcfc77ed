import { isCanonicalUuid, SyncError } from '@oversync/protocol';
import { type CommittedBundle, writeBundle } from '../capture/bundle-writer.js';
import { mapBusinessError } from '../capture/business-errors.js';
import { type BundleEffect, normalizeCaptured, type OpCode } from '../capture/normalize.js';
import type { Actor, ServiceContext } from '../context.js';
import type { Queryable } from '../db/sync-database.js';
import { SCOPE_INITIALIZED, userStateFromRow } from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { renderG1Bundle } from '../render/g1-rows.js';
import { type ApplyGroup, applyStagedRows } from './apply-staged.js';
import { type ConflictRow, firstConflictSql, throwConflict } from './conflicts.js';
import { requireSeedLease } from './create-session.js';
import {
  missingSessionError,
  USER_AND_SESSION_COLUMNS,
  type UserAndSessionRow,
} from './push-session-row.js';
import { sourceRetired } from './source-state.js';

interface Preflight extends UserAndSessionRow {
  ss_state: string | null;
  ss_max: string | null;
  ss_replaced_by: string | null;
  staged_hash: string | null;
  groups: string | null;
  conflict: string | null;
}

/**
 * Everything a commit must check, read in one statement right after taking the user lock: the user and
 * scope, the session, the hash of the staged rows, the source watermark, the first
 * version conflict and the apply groups — and the bundle context is opened on the way.
 * Why one statement: a commit used to be ~15 round trips; each costs more CPU than the
 * work it carries.
 */
const PREFLIGHT = `
SELECT ${USER_AND_SESSION_COLUMNS},
       ss.state AS ss_state, ss.max_committed_source_bundle_id::text AS ss_max,
       ss.replaced_by_source_id AS ss_replaced_by,
       -- G1 sessions (request_hash '') have nothing to verify: skip the aggregate.
       CASE WHEN ps.request_hash = '' THEN '' ELSE
       (SELECT encode(sha256(convert_to('[' || string_agg(r.hash_item, ',' ORDER BY r.row_ordinal) || ']', 'UTF8')), 'hex')
          FROM sync.push_session_rows r WHERE r.push_id = $2::uuid) END AS staged_hash,
       (SELECT json_agg(json_build_object('table_id', g.table_id, 'op', g.op, 'colset', g.colset) ORDER BY g.op DESC, g.first)
          FROM (SELECT table_id, op, colset, min(row_ordinal) AS first FROM sync.push_session_rows
                 WHERE push_id = $2::uuid GROUP BY table_id, op, colset) g)::text AS groups,
       (SELECT row_to_json(c) FROM (${firstConflictSql('$2::uuid', 'us.user_pk')}) c)::text AS conflict,
       set_config('oversync.user_id', $1, true) AS ctx_user,
       set_config('oversync.user_pk', us.user_pk::text, true) AS ctx_user_pk,
       set_config('TimeZone', 'UTC', true) AS ctx_tz
  FROM sync.user_state us
  LEFT JOIN sync.push_sessions ps ON ps.push_id = $2::uuid
  LEFT JOIN sync.source_state ss ON ss.user_pk = us.user_pk AND ss.source_id = $4
 WHERE us.user_id = $1`;

/**
 * Orders a bundle's effects as the client uploaded them, each side effect (cascade, trigger
 * write) right after the uploaded row whose statement produced it — the order go-oversync's
 * row-by-row capture yields, so both servers hash a cascading bundle alike. The apply itself
 * is set-based and grouped, so capture order alone would not follow the upload.
 */
function inUploadOrder(effects: BundleEffect[], rank: ReadonlyMap<string, number>): BundleEffect[] {
  const at = (e: BundleEffect) => rank.get(`${e.tableId}\u0000${e.key}`) ?? Number.MAX_SAFE_INTEGER;
  return effects
    .map((e, i) => ({ e, i }))
    .sort((a, b) => at(a.e) - at(b.e) || a.i - b.i)
    .map((x) => x.e);
}

/** Takes this transaction's captured changes, with each row's upload ordinal if staged. */
async function drainWithUploadOrder(tx: Queryable, pushId: string): Promise<BundleEffect[]> {
  const { rows } = await tx.query<{
    ord: string;
    table_id: number;
    op: number;
    key: string;
    payload: string | null;
    staged: string | null;
  }>(
    `WITH d AS (DELETE FROM sync.capture WHERE txid = pg_current_xact_id()
                RETURNING ord, table_id, op, key, payload)
     SELECT d.ord::text AS ord, d.table_id, d.op, d.key, d.payload, r.row_ordinal::text AS staged
       FROM d LEFT JOIN sync.push_session_rows r
         ON r.push_id = $1::uuid AND r.table_id = d.table_id AND r.key = d.key
      ORDER BY d.ord`,
    [pushId],
  );
  const rank = new Map<string, number>();
  for (const r of rows)
    if (r.staged !== null) rank.set(`${r.table_id}\u0000${r.key}`, Number(r.staged));
  // A side effect ranks just after the last uploaded row captured before it (its cause);
  // side effects of one cause keep their capture order (the sort below is stable).
  let cause = Number.MAX_SAFE_INTEGER - 1;
  for (const r of rows) {
    const id = `${r.table_id}\u0000${r.key}`;
    if (r.staged !== null) cause = Number(r.staged);
    else if (!rank.has(id)) rank.set(id, cause + 0.5);
  }
  const effects = normalizeCaptured(
    rows.map((r) => ({ tableId: r.table_id, op: r.op as OpCode, key: r.key, payload: r.payload })),
  );
  return inUploadOrder(effects, rank);
}

/** `POST /sync/push-sessions/{push_id}/commit`: one atomic bundle or nothing. */
export async function commitPushSession(
  ctx: ServiceContext,
  actor: Actor,
  pushId: string,
): Promise<string> {
  if (!isCanonicalUuid(pushId))
    throw new SyncError('push_session_not_found', 'push session not found');
  let bundle: CommittedBundle;
  let g1Hash: string | undefined;
  try {
    ({ committed: bundle, g1Hash } = await ctx.writeTx(async (tx) => {
      const now = ctx.now();
      // The lock first, alone: in READ COMMITTED the next statement's snapshot is then taken
      // after every earlier writer of this user committed (a statement that waits for the
      // lock itself would read the other tables as of before the wait).
      await tx.query('SELECT 1 FROM sync.user_state WHERE user_id = $1 FOR UPDATE', [actor.userId]);
      const { rows } = await tx.query<Preflight>(PREFLIGHT, [
        actor.userId,
        pushId,
        now,
        actor.sourceId,
      ]);
      const p = rows[0];
      if (!p || p.ps_user_pk === null) throw await missingSessionError(tx, pushId);
      if (p.ps_user_pk !== p.user_pk || p.ps_source_id !== actor.sourceId) {
        throw new SyncError(
          'push_session_forbidden',
          'push session belongs to another user or source',
        );
      }
      if (p.expired) throw new SyncError('push_session_expired', 'push session expired');
      if (p.next !== p.planned) {
        throw new SyncError(
          'push_commit_invalid',
          `only ${p.next} of ${p.planned} planned rows were uploaded`,
        );
      }
      // G1 sessions carry no request hash (stored as ''): go-oversync has none to verify.
      if (p.request_hash !== '' && p.staged_hash !== p.request_hash) {
        throw new SyncError(
          'push_commit_invalid',
          'canonical_request_hash does not match the uploaded rows',
        );
      }
      const user = userStateFromRow(p, now);
      if (p.ps_init) {
        await requireSeedLease(ctx, tx, user, actor.sourceId, p.ps_init);
      } else if (user.scopeState !== SCOPE_INITIALIZED) {
        throw new SyncError(
          'scope_uninitialized',
          'scope is not initialized; call POST /sync/connect first',
        );
      }
      if (p.ss_state === 'retired') throw sourceRetired(actor.sourceId, p.ss_replaced_by);
      const expected = p.ss_max === null ? 1n : BigInt(p.ss_max) + 1n;
      if (expected !== BigInt(p.ps_sbid as string)) {
        throw new SyncError(
          'source_sequence_changed',
          `next source_bundle_id is now ${expected}, not ${p.ps_sbid}`,
        );
      }
      if (p.conflict)
        await throwConflict(
          tx,
          ctx.catalog,
          JSON.parse(p.conflict) as ConflictRow,
          actor.userId,
          ctx.dialect,
        );
      await tx.query('SET CONSTRAINTS ALL DEFERRED');
      await applyStagedRows(
        tx,
        ctx.catalog,
        pushId,
        actor.userId,
        JSON.parse(p.groups ?? '[]') as ApplyGroup[],
      );
      const effects = await drainWithUploadOrder(tx, pushId);
      if (effects.length === 0) {
        throw new SyncError(
          'push_commit_invalid',
          'push session produced no captured business-table effects',
        );
      }
      const committed = await writeBundle(
        tx,
        ctx.catalog,
        {
          userPk: user.userPk,
          bundleSeq: user.nextBundleSeq,
          sourceId: actor.sourceId,
          sourceBundleId: p.ps_sbid as string,
          requestHash: p.request_hash === '' ? null : p.request_hash,
          maxSnapshotRowBytes: ctx.limits.max_bytes_per_snapshot_row,
          deletePushId: pushId,
          ...(p.ps_init ? { initializeScope: { bySource: actor.sourceId, at: now } } : {}),
        },
        effects,
      );
      const hash =
        ctx.dialect === 'g1'
          ? renderG1Bundle(ctx.catalog, committed.bundleSeq, effects).bundleHash
          : undefined;
      return { committed, g1Hash: hash };
    }));
  } catch (err) {
    throw mapBusinessError(err, 'push_commit_invalid');
  }
  ctx.hub.announce(bundle);
  if (g1Hash !== undefined) {
    ctx.g1Hashes.set(bundle.userPk, bundle.bundleSeq, g1Hash);
    return `{"bundle_seq":${bundle.bundleSeq},"source_id":${goString(bundle.sourceId)},"source_bundle_id":${bundle.sourceBundleId},"row_count":${bundle.rowCount},"bundle_hash":"${g1Hash}"}`;
  }
  return `{"bundle_seq":${bundle.bundleSeq},"source_id":${JSON.stringify(bundle.sourceId)},"source_bundle_id":${
    bundle.sourceBundleId
  },"row_count":${bundle.rowCount},"bundle_hash":"${bundle.bundleHash}","canonical_request_hash":"${bundle.requestHash ?? ''}"}`;
}
