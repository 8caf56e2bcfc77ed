/**
 * Normalised dump of the durable `_sync_*` rows in the `expectedState` shape of the shared
 * lifecycle and runtime-state transition fixtures:
 *
 * ```json
 * { "formatVersion": 1, "state": { "apply_state": [...], "attachment_state": [...], ... } }
 * ```
 *
 * The normalisation is the one the KMP runner (`SharedRuntimeStateFixtureSupport.dumpRows`)
 * applied when it wrote the fixtures:
 *
 * - every column of every row (`SELECT *`), tables in the fixed order below, rows in the fixed
 *   `ORDER BY` of each table (`_sync_source_state` by raw `source_id`, dirty rows by ordinal);
 * - `created_at` / `updated_at` → `"<timestamp>"` (NULL stays `null`);
 * - `canonical_request_hash` / `remote_bundle_hash` → `""` when blank, else `"<hash>"`;
 * - source id columns (`source_id`, `current_source_id`, `replaced_by_source_id`,
 *   `replacement_source_id`) → `""` when blank, else `"<source-N>"`, numbered per dump in order
 *   of first appearance while walking the tables, rows and columns in that order — so the
 *   current source is normally `<source-1>` even when it is the newest one;
 * - columns whose declared type contains `INT` → JSON numbers, everything else → strings.
 *
 * @module
 */

import type { SqlExecutor, SqlValue } from '../../src/index.js';

/** A JSON value as the fixtures hold it. */
export type StateJson =
  | null
  | boolean
  | number
  | string
  | StateJson[]
  | { [key: string]: StateJson };

/** One dumped table: fixture key, SQLite table, row order. */
const RUNTIME_STATE_TABLES: readonly { key: string; table: string; orderBy: string }[] = [
  { key: 'apply_state', table: '_sync_apply_state', orderBy: 'singleton_key' },
  { key: 'attachment_state', table: '_sync_attachment_state', orderBy: 'singleton_key' },
  { key: 'source_state', table: '_sync_source_state', orderBy: 'source_id' },
  { key: 'operation_state', table: '_sync_operation_state', orderBy: 'singleton_key' },
  { key: 'outbox_bundle', table: '_sync_outbox_bundle', orderBy: 'singleton_key' },
  { key: 'outbox_rows', table: '_sync_outbox_rows', orderBy: 'source_bundle_id, row_ordinal' },
  { key: 'dirty_rows', table: '_sync_dirty_rows', orderBy: 'dirty_ordinal, table_name, key_json' },
  { key: 'row_state', table: '_sync_row_state', orderBy: 'schema_name, table_name, key_json' },
  { key: 'snapshot_stage', table: '_sync_snapshot_stage', orderBy: 'snapshot_id, row_ordinal' },
  { key: 'managed_tables', table: '_sync_managed_tables', orderBy: 'schema_name, table_name' },
];

const SOURCE_ID_COLUMNS = new Set([
  'source_id',
  'current_source_id',
  'replaced_by_source_id',
  'replacement_source_id',
]);
const TIMESTAMP_COLUMNS = new Set(['created_at', 'updated_at']);
const HASH_COLUMNS = new Set(['canonical_request_hash', 'remote_bundle_hash']);

/** Maps raw source ids to `<source-N>` in order of first sight. */
export class SourceIdNormalizer {
  readonly #ids = new Map<string, string>();

  normalize(value: string): string {
    let placeholder = this.#ids.get(value);
    if (placeholder === undefined) {
      placeholder = `<source-${this.#ids.size + 1}>`;
      this.#ids.set(value, placeholder);
    }
    return placeholder;
  }

  /** The raw id bound to a placeholder (diagnostics). */
  rawOf(placeholder: string): string | undefined {
    for (const [raw, p] of this.#ids) if (p === placeholder) return raw;
    return undefined;
  }
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function text(value: SqlValue): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return String(value);
}

function integer(value: SqlValue): number | string {
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (typeof value === 'number') return value;
  // A TEXT value in an INTEGER column: the KMP runner reads it with getLong (SQLite coercion).
  const n = Number(text(value));
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function normalizeValue(
  column: string,
  declaredType: string,
  value: SqlValue,
  sources: SourceIdNormalizer,
): StateJson {
  if (value === null) return null;
  if (TIMESTAMP_COLUMNS.has(column)) return '<timestamp>';
  if (HASH_COLUMNS.has(column)) return text(value).trim() === '' ? '' : '<hash>';
  if (SOURCE_ID_COLUMNS.has(column)) {
    const raw = text(value);
    return raw.trim() === '' ? '' : sources.normalize(raw);
  }
  return declaredType.includes('INT') ? integer(value) : text(value);
}

async function declaredTypes(db: SqlExecutor, table: string): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  for (const c of await db.all(`PRAGMA main.table_info(${quote(table)})`)) {
    types.set(String(c.name), String(c.type).toUpperCase());
  }
  return types;
}

/**
 * Dumps the `_sync_*` rows normalised as the fixtures expect.
 *
 * @example
 * ```ts
 * expect(await dumpRuntimeState(db)).toEqual(step.expectedState);
 * ```
 */
export async function dumpRuntimeState(
  db: SqlExecutor,
  sources: SourceIdNormalizer = new SourceIdNormalizer(),
): Promise<{ formatVersion: 1; state: { [key: string]: StateJson[] } }> {
  const state: { [key: string]: StateJson[] } = {};
  for (const { key, table, orderBy } of RUNTIME_STATE_TABLES) {
    const types = await declaredTypes(db, table);
    const rows = await db.all(`SELECT * FROM ${quote(table)} ORDER BY ${orderBy}`);
    state[key] = rows.map((row) => {
      const out: { [key: string]: StateJson } = {};
      for (const [column, value] of Object.entries(row)) {
        out[column] = normalizeValue(column, types.get(column) ?? '', value, sources);
      }
      return out;
    });
  }
  return { formatVersion: 1, state };
}
