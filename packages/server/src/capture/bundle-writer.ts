import { createHash } from 'node:crypto';
import { bundleHashInputFromCanonicalPayloads, SyncError } from '@oversync/protocol';
import type { Catalog } from '../bootstrap/catalog.js';
import type { Queryable } from '../db/sync-database.js';
import { sourceRetired } from '../push/source-state.js';
import { type BundleEffect, OP_DELETE, OP_NAMES } from './normalize.js';

/** What identifies and describes a committed bundle. */
export interface CommittedBundle {
  userPk: string;
  bundleSeq: string;
  sourceId: string;
  sourceBundleId: string;
  rowCount: number;
  byteCount: number;
  bundleHash: string;
  requestHash: string | null;
}

/** Who a bundle is written for and under which source tuple. */
export interface BundleTarget {
  userPk: string;
  /** The user's `next_bundle_seq`, read under the user lock in this transaction. */
  bundleSeq: string;
  sourceId: string;
  sourceBundleId: string;
  requestHash: string | null;
  /**
   * Largest snapshot row (bytes of its wire JSON) a bundle may create; a larger row would
   * make every later snapshot of this user fail, so it is refused here. 0 = no check.
   */
  maxSnapshotRowBytes?: number;
  /** A push session to delete in the same statement (the one being committed). */
  deletePushId?: string;
  /** Move the scope to INITIALIZED (a seed commit), by this source at this time. */
  initializeScope?: { bySource: string; at: Date };
}

/**
 * Persists one bundle in one round trip: the sequence bump, the bundle log row, its rows,
 * the per-row versions and the source watermark.
 *
 * Why the hash is computed here from the stored canonical payload text: it must cover
 * exactly the bytes clients will receive, and no payload needs to be parsed for it.
 */
export async function writeBundle(
  tx: Queryable,
  catalog: Catalog,
  target: BundleTarget,
  effects: readonly BundleEffect[],
): Promise<CommittedBundle> {
  const hashInput = bundleHashInputFromCanonicalPayloads(
    effects.map((e) => {
      const t = catalog.byId(e.tableId);
      return {
        schema: t.schema,
        table: t.table,
        keyColumn: t.keyColumn,
        key: e.key,
        op: OP_NAMES[e.op],
        rowVersion: target.bundleSeq,
        payloadJson: e.op === OP_DELETE ? null : e.payload,
      };
    }),
  );
  const maxRow = target.maxSnapshotRowBytes ?? 0;
  if (maxRow > 0) {
    for (const e of effects) {
      if (e.payload === null) continue;
      const t = catalog.byId(e.tableId);
      // The row as a snapshot will carry it: {"key":…,"payload":…,"row_version":…,"schema":…,"table":…}.
      const size =
        Buffer.byteLength(e.payload) +
        Buffer.byteLength(JSON.stringify(e.key)) +
        Buffer.byteLength(JSON.stringify({ s: t.schema, t: t.table, k: t.keyColumn })) +
        target.bundleSeq.length +
        60;
      if (size > maxRow) {
        throw new SyncError(
          'push_commit_invalid',
          `row ${t.schema}.${t.table} ${e.key} would be ${size} bytes in a snapshot, above max_bytes_per_snapshot_row ${maxRow}`,
          {
            extra: { table: `${t.schema}.${t.table}`, key: e.key, byte_count: size, limit: maxRow },
          },
        );
      }
    }
  }
  const bundleHash = createHash('sha256').update(hashInput, 'utf8').digest('hex');
  const byteCount = Buffer.byteLength(hashInput, 'utf8');
  const { rows } = await tx.query<{ seq: string; source_ok: number }>(
    `WITH us AS (
       UPDATE sync.user_state SET next_bundle_seq = next_bundle_seq + 1,
              scope_state = CASE WHEN $14::text IS NULL THEN scope_state ELSE 2 END,
              initializer_source_id = CASE WHEN $14::text IS NULL THEN initializer_source_id END,
              initialization_id = CASE WHEN $14::text IS NULL THEN initialization_id END,
              lease_expires_at = CASE WHEN $14::text IS NULL THEN lease_expires_at END,
              initialized_at = CASE WHEN $14::text IS NULL THEN initialized_at ELSE $15::timestamptz END,
              initialized_by_source_id = CASE WHEN $14::text IS NULL THEN initialized_by_source_id ELSE $14 END
        WHERE user_pk = $1::int8 AND next_bundle_seq = $2::int8 RETURNING user_pk
     ), bl AS (
       INSERT INTO sync.bundle_log (user_pk, bundle_seq, source_id, source_bundle_id, row_count, byte_count, bundle_hash, request_hash)
       SELECT $1::int8, $2::int8, $3, $4::int8, $5::int8, $6::int8, $7, $8 FROM us RETURNING bundle_seq
     ), br AS (
       INSERT INTO sync.bundle_rows (user_pk, bundle_seq, row_ordinal, table_id, op, key, payload)
       SELECT $1::int8, $2::int8, r.ord - 1, r.tid, r.op, r.key, r.payload
         FROM bl, unnest($9::int4[], $10::int2[], $11::text[], $12::text[]) WITH ORDINALITY AS r(tid, op, key, payload, ord)
     ), rs AS (
       INSERT INTO sync.row_state (user_pk, table_id, key, bundle_seq, deleted)
       SELECT $1::int8, r.tid, r.key, $2::int8, r.op = 3
         FROM bl, unnest($9::int4[], $10::int2[], $11::text[]) AS r(tid, op, key)
       ON CONFLICT (user_pk, table_id, key) DO UPDATE SET bundle_seq = EXCLUDED.bundle_seq, deleted = EXCLUDED.deleted
     ), ss AS (
       INSERT INTO sync.source_state (user_pk, source_id, state, max_committed_source_bundle_id)
       SELECT $1::int8, $3, 'active', $4::int8 FROM bl
       ON CONFLICT (user_pk, source_id) DO UPDATE
         SET state = 'active', max_committed_source_bundle_id = EXCLUDED.max_committed_source_bundle_id
         -- A source retired concurrently (rotated rebuild) must never be revived.
         WHERE sync.source_state.state <> 'retired'
       RETURNING 1
     ), dp AS (
       DELETE FROM sync.push_sessions WHERE $13::uuid IS NOT NULL AND push_id = $13::uuid
     )
     SELECT bundle_seq::text AS seq, (SELECT count(*) FROM ss)::int AS source_ok FROM bl`,
    [
      target.userPk,
      target.bundleSeq,
      target.sourceId,
      target.sourceBundleId,
      String(effects.length),
      String(byteCount),
      bundleHash,
      target.requestHash,
      effects.map((e) => e.tableId),
      effects.map((e) => e.op),
      effects.map((e) => e.key),
      effects.map((e) => e.payload),
      target.deletePushId ?? null,
      target.initializeScope?.bySource ?? null,
      target.initializeScope?.at ?? null,
    ],
  );
  if (rows.length !== 1) throw new Error('bundle sequence moved under the user lock');
  if (rows[0]?.source_ok !== 1) {
    const { rows: r } = await tx.query<{ replaced_by: string | null }>(
      'SELECT replaced_by_source_id AS replaced_by FROM sync.source_state WHERE user_pk = $1::int8 AND source_id = $2',
      [target.userPk, target.sourceId],
    );
    throw sourceRetired(target.sourceId, r[0]?.replaced_by ?? null);
  }
  return {
    userPk: target.userPk,
    bundleSeq: target.bundleSeq,
    sourceId: target.sourceId,
    sourceBundleId: target.sourceBundleId,
    rowCount: effects.length,
    byteCount,
    bundleHash,
    requestHash: target.requestHash,
  };
}
