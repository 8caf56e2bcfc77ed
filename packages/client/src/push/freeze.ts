/**
 * Freeze: moves the coalesced dirty rows into the durable outbox as one bundle (one
 * transaction), with upload order, wire payloads and the canonical request hash fixed.
 *
 * @module
 */

import { canonicalJson, pushRequestHash } from '@oversync/protocol';
import type { SqlExecutor } from '../driver/driver.js';
import type { LocalSchema, ManagedTable } from '../local/local-schema-types.js';
import { readAttachment, readDirtyRows, readNextSourceBundleId } from '../local/state-store.js';
import { localKeyJsonToWireKey, localPayloadToWire } from '../local/value-codec.js';

/** A row of the bundle being frozen. */
interface FrozenRow {
  readonly table: ManagedTable;
  readonly keyJson: string;
  readonly wireKey: Record<string, string>;
  readonly op: 'INSERT' | 'UPDATE' | 'DELETE';
  readonly baseRowVersion: number;
  readonly localPayload: string | null;
  readonly wirePayload: Record<string, unknown> | null;
  readonly dirtyOrdinal: number;
}

/**
 * Result of a freeze.
 *
 * @example
 * ```ts
 * const { rowCount, sourceBundleId } = await db.transaction((tx) => freezeOutbox(tx, ctx.schema));
 * ```
 */
export interface FreezeResult {
  readonly rowCount: number;
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly canonicalRequestHash: string;
}

/**
 * Freezes the dirty rows into the outbox inside `tx` (which must be a write transaction).
 * No-op rows (a DELETE of a key the server never saw) are dropped. Returns `rowCount: 0` when
 * nothing is left to push.
 *
 * @example
 * ```ts
 * const frozen = await ctx.db.transaction((tx) => freezeOutbox(tx, ctx.schema));
 * if (frozen.rowCount === 0) return { kind: 'no_change' };
 * ```
 */
export async function freezeOutbox(tx: SqlExecutor, schema: LocalSchema): Promise<FreezeResult> {
  const attachment = await readAttachment(tx);
  const sourceId = attachment.currentSourceId;
  const dirty = await readDirtyRows(tx);
  const liveStates = new Map<string, boolean>();
  for (const r of await tx.all(
    'SELECT table_name, key_json, deleted FROM _sync_row_state WHERE schema_name = ?',
    [schema.schema],
  )) {
    liveStates.set(`${String(r.table_name)}\u0000${String(r.key_json)}`, Number(r.deleted) === 0);
  }

  const frozen: FrozenRow[] = [];
  const noOps: { table: string; keyJson: string }[] = [];
  for (const d of dirty) {
    const table = schema.byName.get(d.tableName);
    if (!table || d.schemaName !== schema.schema) {
      throw new Error(`dirty row for unmanaged table ${d.schemaName}.${d.tableName}`);
    }
    const live = liveStates.get(`${d.tableName}\u0000${d.keyJson}`) === true;
    let op: FrozenRow['op'];
    if (d.payload === null) {
      if (!live) {
        noOps.push({ table: d.tableName, keyJson: d.keyJson });
        continue;
      }
      op = 'DELETE';
    } else {
      op = live ? 'UPDATE' : 'INSERT';
    }
    frozen.push({
      table,
      keyJson: d.keyJson,
      wireKey: localKeyJsonToWireKey(table, d.keyJson),
      op,
      baseRowVersion: d.baseRowVersion,
      localPayload: d.payload,
      wirePayload: d.payload === null ? null : localPayloadToWire(table, d.payload),
      dirtyOrdinal: d.dirtyOrdinal,
    });
  }

  for (const n of noOps) {
    await tx.run(
      'DELETE FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?',
      [schema.schema, n.table, n.keyJson],
    );
  }
  if (frozen.length === 0) {
    return { rowCount: 0, sourceId, sourceBundleId: 0, canonicalRequestHash: '' };
  }

  // Parents first for writes, children first for deletes, so the server can check FKs per row.
  frozen.sort((a, b) => {
    const ad = a.op === 'DELETE' ? 1 : 0;
    const bd = b.op === 'DELETE' ? 1 : 0;
    if (ad !== bd) return ad - bd;
    const byTable = ad ? b.table.order - a.table.order : a.table.order - b.table.order;
    return byTable !== 0 ? byTable : a.dirtyOrdinal - b.dirtyOrdinal;
  });

  const sourceBundleId = await readNextSourceBundleId(tx, sourceId);
  const canonicalRequestHash = await pushRequestHash(
    frozen.map((r) => ({
      schema: schema.schema,
      table: r.table.tableName,
      key: r.wireKey,
      op: r.op,
      baseRowVersion: r.baseRowVersion,
      payload: r.wirePayload,
    })),
  );

  await tx.run('DELETE FROM _sync_outbox_rows');
  await tx.runBatch(
    `INSERT INTO _sync_outbox_rows(source_bundle_id, row_ordinal, schema_name, table_name, key_json, wire_key_json, op,
       base_row_version, local_payload, wire_payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    frozen.map((r, i) => [
      sourceBundleId,
      i,
      schema.schema,
      r.table.tableName,
      r.keyJson,
      canonicalJson(r.wireKey),
      r.op,
      r.baseRowVersion,
      r.localPayload,
      r.wirePayload === null ? null : canonicalJson(r.wirePayload),
    ]),
  );
  await tx.run(
    `UPDATE _sync_outbox_bundle SET state = 'prepared', source_id = ?, source_bundle_id = ?, initialization_id = ?,
       canonical_request_hash = ?, row_count = ?, remote_bundle_hash = '', remote_bundle_seq = 0 WHERE singleton_key = 1`,
    [
      sourceId,
      sourceBundleId,
      attachment.pendingInitializationId,
      canonicalRequestHash,
      frozen.length,
    ],
  );
  await tx.runBatch(
    'DELETE FROM _sync_dirty_rows WHERE schema_name = ? AND table_name = ? AND key_json = ?',
    frozen.map((r) => [schema.schema, r.table.tableName, r.keyJson]),
  );
  return { rowCount: frozen.length, sourceId, sourceBundleId, canonicalRequestHash };
}
