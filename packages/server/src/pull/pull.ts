import { SyncError } from '@oversync/protocol';
import type { OpCode } from '../capture/normalize.js';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import { USER_COLUMNS, type UserState, userStateFromRow } from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { renderG1Bundle, type StoredBundleRow } from '../render/g1-rows.js';
import { bundleRowJson } from '../render/wire-rows.js';
import { readIntParam } from '../util/query-params.js';

/** Rows per pull page beyond which no further bundle is added (a page always has ≥ 1 bundle). */
export const PULL_ROW_BUDGET = 20_000;

/**
 * `GET /sync/pull`: complete bundles after `after_bundle_seq` up to a frozen ceiling.
 *
 * Everything is read by one statement, so a concurrent prune or commit can never mix states
 * inside a page (see {@link renderPage} for the checks).
 */
export async function pull(
  ctx: ServiceContext,
  actor: Actor,
  params: URLSearchParams,
): Promise<string> {
  const after = readIntParam(params, 'after_bundle_seq', 'invalid_request') ?? 0n;
  const maxBundles =
    readIntParam(params, 'max_bundles', 'invalid_request', {
      min: 1n,
      max: BigInt(ctx.limits.max_bundles_per_pull),
    }) ?? 1000n;
  const target = readIntParam(params, 'target_bundle_seq', 'invalid_request') ?? 0n;
  if (target > 0n && target < after) {
    throw new SyncError('invalid_request', 'target_bundle_seq must not be below after_bundle_seq');
  }
  // One statement — one snapshot of the data and one round trip: the user row, the bundle
  // heads of the page (cut by max_bundles and the row budget, at least one bundle) and their
  // rows. The checks below run on its user row; when one fails, the page is discarded.
  const { rows: page } = await ctx.db.query<{
    part: number;
    meta: string | null;
    heads: string | null;
    hcount: number | null;
    seq: string | null;
    table_id: number | null;
    op: number | null;
    key: string | null;
    payload: string | null;
  }>(
    `WITH u AS (SELECT ${USER_COLUMNS}, user_pk AS pk, next_bundle_seq AS next
                  FROM sync.user_state WHERE user_id = $1),
          h AS (SELECT bl.bundle_seq, bl.source_id, bl.source_bundle_id, bl.row_count, bl.bundle_hash,
                       sum(bl.row_count) OVER (ORDER BY bl.bundle_seq) AS cum,
                       row_number() OVER (ORDER BY bl.bundle_seq) AS rn
                  FROM u JOIN sync.bundle_log bl ON bl.user_pk = u.pk
                 WHERE bl.bundle_seq > $2::int8
                   AND bl.bundle_seq <= CASE WHEN $3::int8 > 0 THEN $3::int8 ELSE u.next - 1 END
                 ORDER BY bl.bundle_seq LIMIT $4::int8 + 1),
          c AS (SELECT * FROM h WHERE rn <= $4::int8 AND (rn = 1 OR cum <= $5::int8))
     SELECT 0 AS part, 0::int8 AS bseq, 0::int8 AS ord,
            (SELECT row_to_json(x) FROM (SELECT user_pk, next_bundle_seq, floor, scope_state,
               initializer_source_id, initialization_id, lease_expires_at FROM u) x)::text AS meta,
            (SELECT json_agg(json_build_object('seq', bundle_seq::text, 'source_id', source_id,
                    'source_bundle_id', source_bundle_id::text, 'row_count', row_count::text,
                    'bundle_hash', bundle_hash) ORDER BY bundle_seq) FROM c)::text AS heads,
            (SELECT count(*) FROM h)::int AS hcount,
            NULL::text AS seq, NULL::int AS table_id, NULL::int AS op, NULL::text AS key, NULL::text AS payload
     UNION ALL
     SELECT 1, br.bundle_seq, br.row_ordinal, NULL, NULL, NULL,
            br.bundle_seq::text, br.table_id, br.op::int, br.key, br.payload
       FROM u JOIN sync.bundle_rows br ON br.user_pk = u.pk
      WHERE br.bundle_seq BETWEEN (SELECT min(bundle_seq) FROM c) AND (SELECT max(bundle_seq) FROM c)
     ORDER BY 1, 2, 3`,
    [actor.userId, String(after), String(target), String(maxBundles), String(PULL_ROW_BUDGET)],
  );
  const head = page[0];
  const user = head?.meta ? userStateFromRow(JSON.parse(head.meta), ctx.now()) : null;
  requireInitialized(user);
  const result = renderPage(ctx, user, after, target, page);
  if (result.kind === 'pruned') {
    await ctx.db.query(`SELECT nextval('sync.history_pruned_error_seq')`);
    throw new SyncError('history_pruned', result.text);
  }
  return result.text;
}

interface PageRow {
  part: number;
  heads: string | null;
  hcount: number | null;
  seq: string | null;
  table_id: number | null;
  op: number | null;
  key: string | null;
  payload: string | null;
}

interface Head {
  seq: string;
  source_id: string;
  source_bundle_id: string;
  row_count: string;
  bundle_hash: string;
}

/**
 * Checks the request against the user row read with the page, then renders the page. A
 * checkpoint ahead of the server answers `checkpoint_ahead` (G1: `history_pruned`, which its
 * client answers with a rebuild), and a checkpoint below the retained floor (including 0 once
 * history is pruned) answers `history_pruned`: both make the client rebuild from a snapshot.
 */
function renderPage(
  ctx: ServiceContext,
  user: UserState,
  after: bigint,
  target: bigint,
  page: readonly PageRow[],
): { kind: 'ok' | 'pruned'; text: string } {
  const g1 = ctx.dialect === 'g1';
  const latest = BigInt(user.nextBundleSeq) - 1n;
  const floor = BigInt(user.retainedFloor);
  // G1 has no checkpoint_ahead; go-oversync's own answer (a stable ceiling below the
  // checkpoint) is rejected by the Go client, so G1 gets history_pruned: it rebuilds.
  const ahead = g1 ? 'history_pruned' : 'checkpoint_ahead';
  if (after > latest) {
    throw new SyncError(
      ahead,
      `requested checkpoint ${after} is ahead of current committed bundle sequence ${latest}`,
    );
  }
  if (target > latest) {
    throw new SyncError(
      ahead,
      `target_bundle_seq ${target} is ahead of current committed bundle sequence ${latest}`,
    );
  }
  if (after < floor) {
    return { kind: 'pruned', text: `after_bundle_seq ${after} is below retained floor ${floor}` };
  }
  const stable = target > 0n ? target : latest;
  const meta = page[0];
  const chosen: Head[] = meta?.heads ? (JSON.parse(meta.heads) as Head[]) : [];
  if (after >= stable || chosen.length === 0) {
    return { kind: 'ok', text: `{"stable_bundle_seq":${stable},"bundles":[],"has_more":false}` };
  }
  const hasMore = (meta?.hcount ?? 0) > chosen.length;
  const rowsBySeq = new Map<string, string[]>();
  const storedBySeq = new Map<string, StoredBundleRow[]>();
  for (let i = 1; i < page.length; i++) {
    const r = page[i] as PageRow;
    const seq = r.seq as string;
    if (g1) {
      let stored = storedBySeq.get(seq);
      if (!stored) {
        stored = [];
        storedBySeq.set(seq, stored);
      }
      stored.push({
        tableId: r.table_id as number,
        op: r.op as OpCode,
        key: r.key as string,
        payload: r.payload,
      });
      continue;
    }
    let list = rowsBySeq.get(seq);
    if (!list) {
      list = [];
      rowsBySeq.set(seq, list);
    }
    list.push(
      bundleRowJson(
        ctx.catalog,
        r.table_id as number,
        r.op as OpCode,
        r.key as string,
        seq,
        r.payload,
      ),
    );
  }
  const bundles = chosen.map((h) => {
    if (g1) {
      // go-oversync fills row_count and bundle_hash in pull bundles (its swagger omits them).
      const known = ctx.g1Hashes.get(user.userPk, h.seq);
      const b = renderG1Bundle(ctx.catalog, h.seq, storedBySeq.get(h.seq) ?? [], known);
      if (known === undefined) ctx.g1Hashes.set(user.userPk, h.seq, b.bundleHash);
      return `{"bundle_seq":${h.seq},"source_id":${goString(h.source_id)},"source_bundle_id":${h.source_bundle_id},"row_count":${h.row_count},"bundle_hash":"${b.bundleHash}","rows":[${b.rows.join(',')}]}`;
    }
    // Exactly the members clients declare: strict decoders reject unknown ones.
    return `{"bundle_seq":${h.seq},"source_id":${JSON.stringify(h.source_id)},"source_bundle_id":${h.source_bundle_id},"rows":[${(rowsBySeq.get(h.seq) ?? []).join(',')}]}`;
  });
  return {
    kind: 'ok',
    text: `{"stable_bundle_seq":${stable},"bundles":[${bundles.join(',')}],"has_more":${hasMore}}`,
  };
}
