import { SyncError } from '@oversync/protocol';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import {
  USER_COLUMNS,
  type UserState,
  userJsonSql,
  userStateFromJson,
} from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { renderG1Bundle, type StoredBundleRow } from '../render/g1-rows.js';
import { bundleRowJson } from '../render/wire-rows.js';
import { readIntParam } from '../util/query-params.js';

/** Rows per pull page beyond which no further bundle is added (a page always has ≥ 1 bundle). */
export const PULL_ROW_BUDGET = 20_000;

/**
 * The G1 budget: go-oversync pages by `max_bundles` only (the Go client asks for 1000), so a
 * G1 page may be larger; still bounded, so one request cannot make the server render an
 * unbounded body.
 */
export const G1_PULL_ROW_BUDGET = 100_000;

/**
 * `GET /sync/pull`: complete bundles after `after_bundle_seq` up to a frozen ceiling.
 *
 * A concurrent commit never changes a page, and a concurrent prune turns it into
 * `history_pruned` (see {@link renderPage} for the checks).
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
  // Two statements, no transaction: the user row with the page's bundle heads (cut by
  // max_bundles and the row budget, at least one bundle), then exactly those bundles' rows
  // in index order. Committed bundles never change; the only concurrent change that can
  // touch them is pruning, which `renderPage` detects (a bundle with fewer rows than its
  // row_count) and answers as history_pruned, which is what pruned history is.
  const { rows: metaRows } = await ctx.db.query<{
    meta: string | null;
    heads: string | null;
    hcount: number | null;
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
     SELECT ${userJsonSql('u')} AS meta,
            (SELECT json_agg(json_build_object('seq', bundle_seq::text, 'source_id', source_id,
                    'source_bundle_id', source_bundle_id::text, 'row_count', row_count::text,
                    'bundle_hash', bundle_hash) ORDER BY bundle_seq) FROM c)::text AS heads,
            (SELECT count(*) FROM h)::int AS hcount`,
    [
      actor.userId,
      String(after),
      String(target),
      String(maxBundles),
      String(ctx.dialect === 'g1' ? G1_PULL_ROW_BUDGET : PULL_ROW_BUDGET),
    ],
  );
  const meta = metaRows[0];
  const user = userStateFromJson(meta?.meta, ctx.now());
  requireInitialized(user);
  const chosen: Head[] = meta?.heads ? (JSON.parse(meta.heads) as Head[]) : [];
  let rows: PageRow[] = [];
  const first = chosen[0];
  const last = chosen.at(-1);
  if (first && last && after >= BigInt(user.retainedFloor)) {
    ({ rows } = await ctx.db.query<PageRow>(
      `SELECT bundle_seq::text AS seq, table_id AS "tableId", op, key, payload FROM sync.bundle_rows
        WHERE user_pk = $1::int8 AND bundle_seq BETWEEN $2::int8 AND $3::int8
        ORDER BY bundle_seq, row_ordinal`,
      [user.userPk, first.seq, last.seq],
    ));
  }
  const result = renderPage(ctx, user, after, target, chosen, meta?.hcount ?? 0, rows);
  if (result.kind === 'pruned') {
    await ctx.db.query(`SELECT nextval('sync.history_pruned_error_seq')`);
    throw new SyncError('history_pruned', result.text);
  }
  return result.text;
}

interface PageRow extends StoredBundleRow {
  seq: string;
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
  chosen: readonly Head[],
  headCount: number,
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
  if (after >= stable || chosen.length === 0) {
    return { kind: 'ok', text: `{"stable_bundle_seq":${stable},"bundles":[],"has_more":false}` };
  }
  const hasMore = headCount > chosen.length;
  // Rows come ordered by bundle, then ordinal: each chosen bundle is the next row_count rows.
  // A bundle with fewer rows was pruned between the two statements; what remains of it is no
  // longer history.
  const ranges: [number, number][] = [];
  let at = 0;
  for (const h of chosen) {
    const end = at + Number(h.row_count);
    if (end > page.length || page[at]?.seq !== h.seq || page[end - 1]?.seq !== h.seq) {
      return { kind: 'pruned', text: `bundle ${h.seq} was pruned while this page was read` };
    }
    ranges.push([at, end]);
    at = end;
  }
  const bundles = chosen.map((h, i) => {
    const [from, to] = ranges[i] as [number, number];
    if (g1) {
      // go-oversync fills row_count and bundle_hash in pull bundles (its swagger omits them).
      const known = ctx.g1Hashes.get(user.userPk, h.seq);
      const b = renderG1Bundle(ctx.catalog, h.seq, page, known, from, to);
      if (known === undefined) ctx.g1Hashes.set(user.userPk, h.seq, b.bundleHash);
      return `{"bundle_seq":${h.seq},"source_id":${goString(h.source_id)},"source_bundle_id":${h.source_bundle_id},"row_count":${h.row_count},"bundle_hash":"${b.bundleHash}","rows":[${b.rows.join(',')}]}`;
    }
    const rows: string[] = [];
    for (let j = from; j < to; j++) {
      const r = page[j] as PageRow;
      rows.push(bundleRowJson(ctx.catalog, r.tableId, r.op, r.key, h.seq, r.payload));
    }
    // Exactly the members clients declare: strict decoders reject unknown ones.
    return `{"bundle_seq":${h.seq},"source_id":${JSON.stringify(h.source_id)},"source_bundle_id":${h.source_bundle_id},"rows":[${rows.join(',')}]}`;
  });
  return {
    kind: 'ok',
    text: `{"stable_bundle_seq":${stable},"bundles":[${bundles.join(',')}],"has_more":${hasMore}}`,
  };
}
