/**
 * Binding of the local source identity on open (steps 2–5 of the KMP/Dart open sequence):
 * source id, first-time capture of pre-existing rows, attachment normalisation, apply mode.
 *
 * @module
 */

import { isValidSourceId } from '@oversync/protocol';
import type { SqlExecutor, SqliteDriver } from '../driver/driver.js';
import { clientError } from '../errors.js';
import { resetApplyMode, SQL_NOW } from './control-tables.js';
import type { LocalSchema } from './local-schema-types.js';
import { columnSqlName, quoteIdent } from './table-info.js';
import { keyJsonExpression, payloadExpression } from './triggers.js';

/** Go retries this often; a collision of random UUIDs means a broken generator anyway. */
const MAX_SOURCE_ID_ATTEMPTS = 100;

/**
 * Result of {@link bindLocalSource}.
 *
 * @example
 * ```ts
 * const result: LocalSourceBinding = { sourceId: '6f1c…', created: true };
 * ```
 */
export interface LocalSourceBinding {
  /** The bound `current_source_id`. */
  readonly sourceId: string;
  /** True when this call generated the source (first open with sync installed). */
  readonly created: boolean;
}

async function generateSourceId(tx: SqlExecutor, newId: () => string): Promise<string> {
  for (let attempt = 0; attempt < MAX_SOURCE_ID_ATTEMPTS; attempt++) {
    const candidate = newId();
    if (typeof candidate !== 'string' || !isValidSourceId(candidate)) {
      throw clientError(
        'configuration',
        `source id generator returned an invalid source id: ${String(candidate)}`,
      );
    }
    const used = await tx.get('SELECT 1 AS used FROM _sync_source_state WHERE source_id = ?', [
      candidate,
    ]);
    if (!used) return candidate;
  }
  throw clientError(
    'configuration',
    `source id generator produced ${MAX_SOURCE_ID_ATTEMPTS} ids that are already used locally`,
  );
}

/**
 * First capture treats every existing app row as a new local INSERT. That is only sound when the
 * runtime has never tracked anything: leftover row state, dirty rows or an outbox would mean the
 * rows are not "new", and capturing them again could resurrect or duplicate data.
 */
async function assertNoTrackedState(tx: SqlExecutor): Promise<void> {
  const counts = await tx.get<{ row_state: number; dirty: number; outbox: number }>(
    `SELECT (SELECT COUNT(*) FROM _sync_row_state) AS row_state,
            (SELECT COUNT(*) FROM _sync_dirty_rows) AS dirty,
            (SELECT COUNT(*) FROM _sync_outbox_rows) AS outbox`,
  );
  const found: string[] = [];
  if (Number(counts?.row_state ?? 0) > 0) found.push(`_sync_row_state=${counts?.row_state}`);
  if (Number(counts?.dirty ?? 0) > 0) found.push(`_sync_dirty_rows=${counts?.dirty}`);
  if (Number(counts?.outbox ?? 0) > 0) found.push(`_sync_outbox_rows=${counts?.outbox}`);
  if (found.length > 0) {
    throw clientError(
      'local_state_conflict',
      `oversqlite cannot treat this database as first local capture because existing sync state is already present: ${found.join(', ')}`,
      { counts: found },
    );
  }
}

/**
 * Writes every existing row of every managed table as a dirty INSERT with base version 0,
 * parents first (table order), keys ascending within a table, ordinals 1, 2, 3 … across tables.
 * The JSON is built by SQLite with the trigger expressions, so it is byte-identical to what a
 * capture trigger would have written for the same row.
 */
async function capturePreexistingRows(tx: SqlExecutor, schema: LocalSchema): Promise<number> {
  let captured = 0;
  for (const table of schema.tables) {
    const key = table.columns.find((c) => c.name === table.keyColumn);
    if (!key) throw new Error(`table ${table.tableName} has no column ${table.keyColumn}`);
    const alias = 'existing_row';
    const keyRef = `${alias}.${quoteIdent(columnSqlName(key))}`;
    // ROW_NUMBER() numbers rows in key order; the offset continues the previous tables' ordinals.
    const result = await tx.run(
      `INSERT INTO _sync_dirty_rows(schema_name, table_name, key_json, op, base_row_version, payload, dirty_ordinal, updated_at)
       SELECT ?, ?, ${keyJsonExpression(table, alias)}, 'INSERT', 0, ${payloadExpression(table, alias)},
              ? + ROW_NUMBER() OVER (ORDER BY ${keyRef}), ${SQL_NOW}
       FROM ${quoteIdent(table.tableName)} AS ${alias}
       ORDER BY ${keyRef}`,
      [schema.schema, table.tableName, captured],
    );
    captured += result.changes;
  }
  return captured;
}

/**
 * Binds the local source in one transaction (open steps 2–5 of client-internals §3.2):
 *
 * 1. if `current_source_id` is empty, generates a fresh id with `newId` (skipping ids already in
 *    `_sync_source_state`) and ensures its `_sync_source_state` row (`next_source_bundle_id = 1`);
 * 2. only when the source was just created, captures every pre-existing row of every managed
 *    table into `_sync_dirty_rows` as INSERT with base 0 — refusing (`local_state_conflict`) if
 *    row state, dirty rows or outbox rows already exist;
 * 3. keeps an `attached` binding only if a user id is recorded and no `remote_replace` is pending;
 *    otherwise resets to anonymous with checkpoint, rebuild flag and seed lease cleared (the
 *    lease is also dropped while any operation is pending);
 * 4. sets `apply_mode = 0`.
 *
 * Checkpoint values are copied inside SQL, so int64 values never pass through a JS number.
 *
 * @example
 * ```ts
 * const schema = await initializeLocalRuntime(db, config);
 * const { sourceId, created } = await bindLocalSource(db, schema, () => crypto.randomUUID());
 * ```
 */
export async function bindLocalSource(
  db: SqliteDriver,
  schema: LocalSchema,
  newId: () => string,
): Promise<LocalSourceBinding> {
  return db.transaction(async (tx) => {
    const attachment = await tx.get<{
      current_source_id: string;
      binding_state: string;
      attached_user_id: string;
    }>(
      'SELECT current_source_id, binding_state, attached_user_id FROM _sync_attachment_state WHERE singleton_key = 1',
    );
    const operation = await tx.get<{ kind: string }>(
      'SELECT kind FROM _sync_operation_state WHERE singleton_key = 1',
    );
    if (!attachment || !operation) {
      throw clientError(
        'open_required',
        'oversqlite control tables are not initialised; call initializeLocalRuntime first',
      );
    }
    const existing = String(attachment.current_source_id);
    const created = existing === '';
    const sourceId = created ? await generateSourceId(tx, newId) : existing;
    await tx.run(
      "INSERT INTO _sync_source_state(source_id, next_source_bundle_id, replaced_by_source_id) VALUES (?, 1, '') ON CONFLICT(source_id) DO NOTHING",
      [sourceId],
    );
    if (created) {
      await assertNoTrackedState(tx);
      await capturePreexistingRows(tx, schema);
    }

    const kind = String(operation.kind);
    // `attached` survives only with a user id and no pending remote_replace; everything tied to
    // the binding (schema, checkpoint, rebuild gate, seed lease) goes with it. The checkpoint is
    // kept by SQL (`CASE … THEN last_bundle_seq_seen`), never read into a JS number.
    const attached =
      kind !== 'remote_replace' &&
      String(attachment.binding_state) === 'attached' &&
      String(attachment.attached_user_id) !== '';
    const keep = attached ? 1 : 0;
    const keepLease = attached && kind === 'none' ? 1 : 0;
    await tx.run(
      `UPDATE _sync_attachment_state SET
         current_source_id = ?,
         binding_state = CASE WHEN ? = 1 THEN 'attached' ELSE 'anonymous' END,
         attached_user_id = CASE WHEN ? = 1 THEN attached_user_id ELSE '' END,
         schema_name = CASE WHEN ? = 1 THEN ? ELSE '' END,
         last_bundle_seq_seen = CASE WHEN ? = 1 THEN last_bundle_seq_seen ELSE 0 END,
         rebuild_required = CASE WHEN ? = 1 AND rebuild_required <> 0 THEN 1 ELSE 0 END,
         pending_initialization_id = CASE WHEN ? = 1 THEN pending_initialization_id ELSE '' END
       WHERE singleton_key = 1`,
      [sourceId, keep, keep, keep, schema.schema, keep, keep, keepLease],
    );
    await resetApplyMode(tx);
    return { sourceId, created };
  });
}
