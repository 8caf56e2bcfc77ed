import { SyncError } from '@oversync/protocol';
import type { OpCode } from '../capture/normalize.js';
import type { Actor, ServiceContext } from '../context.js';
import { requireInitialized } from '../lifecycle/scope-gate.js';
import { readUser } from '../lifecycle/user-state.js';
import { goString } from '../render/g1-payload.js';
import { renderG1Bundle, type StoredBundleRow } from '../render/g1-rows.js';
import { bundleRowJson } from '../render/wire-rows.js';
import { readIntParam } from '../util/query-params.js';

/** Rows per pull page beyond which no further bundle is added (a page always has ≥ 1 bundle). */
export const PULL_ROW_BUDGET = 20_000;

/**
 * `GET /sync/pull`: complete bundles after `after_bundle_seq` up to a frozen ceiling.
 *
 * Reads happen in one REPEATABLE READ snapshot so a concurrent prune or commit can never
 * mix states inside a page. A checkpoint ahead of the server answers `checkpoint_ahead`,
 * and a checkpoint below the retained floor (including 0 once history is pruned)
 * answers `history_pruned`: both make the client rebuild from a snapshot.
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
  const result = await ctx.db.transaction(
    async (tx) => {
      const user = await readUser(tx, actor.userId, ctx.now());
      requireInitialized(user);
      const latest = BigInt(user.nextBundleSeq) - 1n;
      const floor = BigInt(user.retainedFloor);
      // G1 has no checkpoint_ahead; go-oversync's own answer (a stable ceiling below the
      // checkpoint) is rejected by the Go client, so G1 gets history_pruned: it rebuilds.
      const ahead = ctx.dialect === 'g1' ? 'history_pruned' : 'checkpoint_ahead';
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
        return {
          kind: 'pruned' as const,
          text: `after_bundle_seq ${after} is below retained floor ${floor}`,
        };
      }
      const stable = target > 0n ? target : latest;
      if (after >= stable) {
        return {
          kind: 'ok' as const,
          text: `{"stable_bundle_seq":${stable},"bundles":[],"has_more":false}`,
        };
      }
      const { rows: heads } = await tx.query<{
        seq: string;
        source_id: string;
        source_bundle_id: string;
        row_count: string;
        bundle_hash: string;
        cum: string;
      }>(
        `SELECT bundle_seq::text AS seq, source_id, source_bundle_id::text AS source_bundle_id,
                row_count::text AS row_count, bundle_hash,
                (sum(row_count) OVER (ORDER BY bundle_seq))::text AS cum
           FROM sync.bundle_log
          WHERE user_pk = $1::int8 AND bundle_seq > $2::int8 AND bundle_seq <= $3::int8
          ORDER BY bundle_seq LIMIT $4`,
        [user.userPk, String(after), String(stable), String(maxBundles + 1n)],
      );
      let take = 0;
      while (take < heads.length && take < Number(maxBundles)) {
        const h = heads[take];
        if (take > 0 && h && BigInt(h.cum) > BigInt(PULL_ROW_BUDGET)) break;
        take++;
      }
      const chosen = heads.slice(0, take);
      const hasMore = heads.length > take;
      const first = chosen[0];
      const last = chosen.at(-1);
      const rowsBySeq = new Map<string, string[]>();
      const storedBySeq = new Map<string, StoredBundleRow[]>();
      const g1 = ctx.dialect === 'g1';
      if (first && last) {
        const { rows } = await tx.query<{
          seq: string;
          table_id: number;
          op: number;
          key: string;
          payload: string | null;
        }>(
          `SELECT bundle_seq::text AS seq, table_id, op, key, payload FROM sync.bundle_rows
            WHERE user_pk = $1::int8 AND bundle_seq BETWEEN $2::int8 AND $3::int8
            ORDER BY bundle_seq, row_ordinal`,
          [user.userPk, first.seq, last.seq],
        );
        for (const r of rows) {
          if (g1) {
            let stored = storedBySeq.get(r.seq);
            if (!stored) {
              stored = [];
              storedBySeq.set(r.seq, stored);
            }
            stored.push({
              tableId: r.table_id,
              op: r.op as OpCode,
              key: r.key,
              payload: r.payload,
            });
            continue;
          }
          let list = rowsBySeq.get(r.seq);
          if (!list) {
            list = [];
            rowsBySeq.set(r.seq, list);
          }
          list.push(
            bundleRowJson(ctx.catalog, r.table_id, r.op as OpCode, r.key, r.seq, r.payload),
          );
        }
      }
      const bundles = chosen.map((h) => {
        if (g1) {
          // go-oversync fills row_count and bundle_hash in pull bundles (its swagger omits them).
          const known = ctx.g1Hashes.get(user.userPk, h.seq);
          const b = renderG1Bundle(ctx.catalog, h.seq, storedBySeq.get(h.seq) ?? [], known);
          if (known === undefined) ctx.g1Hashes.set(user.userPk, h.seq, b.bundleHash);
          return `{"bundle_seq":${h.seq},"source_id":${goString(h.source_id)},"source_bundle_id":${h.source_bundle_id},"row_count":${h.row_count},"bundle_hash":"${b.bundleHash}","rows":[${b.rows.join(',')}]}`;
        }
        return (
          // Exactly the members clients declare: strict decoders reject unknown ones.
          `{"bundle_seq":${h.seq},"source_id":${JSON.stringify(h.source_id)},"source_bundle_id":${h.source_bundle_id},"rows":[${(rowsBySeq.get(h.seq) ?? []).join(',')}]}`
        );
      });
      return {
        kind: 'ok' as const,
        text: `{"stable_bundle_seq":${stable},"bundles":[${bundles.join(',')}],"has_more":${hasMore}}`,
      };
    },
    { isolation: 'repeatable read', readOnly: true },
  );
  if (result.kind === 'pruned') {
    await ctx.db.query(`SELECT nextval('sync.history_pruned_error_seq')`);
    throw new SyncError('history_pruned', result.text);
  }
  return result.text;
}
