import { SyncError } from '@oversync/protocol';
import type { OpCode } from '../capture/normalize.js';
import type { Actor, ServiceContext } from '../context.js';
import { readUser } from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { g1BundleHashOf, renderG1Bundle } from '../render/g1-rows.js';
import { bundleRowJson } from '../render/wire-rows.js';
import { readIntParam } from '../util/query-params.js';

const CODE = 'committed_bundle_chunk_invalid';

/**
 * `GET /sync/committed-bundles/{bundle_seq}/rows`: pages of one committed bundle.
 * `after_row_ordinal` is the 0-based ordinal of the last row already received (absent =
 * from the start); `next_row_ordinal` is the ordinal of the last row returned.
 */
export async function committedBundleRows(
  ctx: ServiceContext,
  actor: Actor,
  seqText: string,
  params: URLSearchParams,
): Promise<string> {
  if (!/^[1-9][0-9]{0,18}$/.test(seqText))
    throw new SyncError(CODE, 'bundle_seq must be a positive integer');
  const seq = BigInt(seqText);
  const after = readIntParam(params, 'after_row_ordinal', CODE);
  const maxRows =
    readIntParam(params, 'max_rows', CODE, { min: 1n }) ??
    BigInt(ctx.limits.default_rows_per_committed_bundle_chunk);
  const limit = Math.min(Number(maxRows), ctx.limits.max_rows_per_committed_bundle_chunk);
  const user = await readUser(ctx.db, actor.userId, ctx.now());
  if (!user || seq >= BigInt(user.nextBundleSeq)) {
    throw new SyncError('committed_bundle_not_found', `bundle ${seq} not found`);
  }
  if (seq <= BigInt(user.retainedFloor)) {
    throw new SyncError(
      'history_pruned',
      `bundle ${seq} is at or below retained floor ${user.retainedFloor}`,
    );
  }
  const { rows } = await ctx.db.query<{
    source_id: string;
    source_bundle_id: string;
    row_count: string;
    bundle_hash: string;
    request_hash: string | null;
    row_ordinal: number | null;
    table_id: number | null;
    op: number | null;
    key: string | null;
    payload: string | null;
  }>(
    `SELECT bl.source_id, bl.source_bundle_id::text AS source_bundle_id, bl.row_count::text AS row_count,
            bl.bundle_hash, bl.request_hash, r.row_ordinal, r.table_id, r.op, r.key, r.payload
       FROM sync.bundle_log bl
       LEFT JOIN LATERAL (
         SELECT br.row_ordinal, br.table_id, br.op, br.key, br.payload FROM sync.bundle_rows br
          WHERE br.user_pk = bl.user_pk AND br.bundle_seq = bl.bundle_seq AND br.row_ordinal > $3::int8
          ORDER BY br.row_ordinal LIMIT $4) r ON true
      WHERE bl.user_pk = $1::int8 AND bl.bundle_seq = $2::int8
      ORDER BY r.row_ordinal`,
    [user.userPk, String(seq), after === undefined ? '-1' : String(after), limit + 1],
  );
  const head = rows[0];
  if (!head) {
    // Raced with pruning between the floor check and the read.
    throw new SyncError('history_pruned', `bundle ${seq} is no longer retained`);
  }
  const page = rows.filter((r) => r.row_ordinal !== null);
  const hasMore = page.length > limit;
  const shown = hasMore ? page.slice(0, limit) : page;
  const last = shown.at(-1);
  const next = last ? String(last.row_ordinal) : after === undefined ? '0' : String(after);
  if (ctx.dialect === 'g1') {
    const page = renderG1Bundle(
      ctx.catalog,
      String(seq),
      shown.map((r) => ({
        tableId: r.table_id as number,
        op: r.op as OpCode,
        key: r.key as string,
        payload: r.payload,
      })),
    );
    const bundleHash = await g1BundleHashOf(
      ctx.db,
      ctx.catalog,
      ctx.g1Hashes,
      user.userPk,
      String(seq),
    );
    return `{"bundle_seq":${seq},"source_id":${goString(head.source_id)},"source_bundle_id":${head.source_bundle_id},"row_count":${head.row_count},"bundle_hash":"${bundleHash}","rows":[${page.rows.join(',')}],"next_row_ordinal":${next},"has_more":${hasMore}}`;
  }
  const rowJson = shown.map((r) =>
    bundleRowJson(
      ctx.catalog,
      r.table_id as number,
      r.op as OpCode,
      r.key as string,
      String(seq),
      r.payload,
    ),
  );
  const hash = head.request_hash ? `,"canonical_request_hash":"${head.request_hash}"` : '';
  return `{"bundle_seq":${seq},"source_id":${JSON.stringify(head.source_id)},"source_bundle_id":${head.source_bundle_id},"row_count":${head.row_count},"bundle_hash":"${head.bundle_hash}"${hash},"rows":[${rowJson.join(',')}],"next_row_ordinal":${next},"has_more":${hasMore}}`;
}
