/**
 * The `_sync_*` control tables: DDL, singleton rows and layout checks.
 *
 * The DDL text is the KMP/Dart v1 catalog byte for byte (pinned by the shared fixture
 * `runtime-state/schema/v1.json`): SQLite stores the text of `CREATE TABLE` verbatim (minus
 * `IF NOT EXISTS`), so a database opened by this client, KMP or Dart shows one identical catalog.
 *
 * @module
 */

import type { SqlExecutor } from '../driver/driver.js';
import { clientError } from '../errors.js';

/**
 * The canonical-JSON contract id recorded in `_sync_outbox_bundle.canonical_json_contract`.
 *
 * @example
 * ```ts
 * await tx.run('UPDATE _sync_outbox_bundle SET canonical_json_contract = ?', [CANONICAL_JSON_CONTRACT]);
 * ```
 */
export const CANONICAL_JSON_CONTRACT = 'jcs_uniform_numeric_strings_v1';

/**
 * SQL expression used for every runtime timestamp (UTC, millisecond ISO 8601), so timestamps
 * written by this client, KMP and Dart look alike.
 *
 * @example
 * ```ts
 * await tx.run(`UPDATE _sync_row_state SET updated_at = ${SQL_NOW} WHERE key_json = ?`, [key]);
 * ```
 */
export const SQL_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

interface ControlTable {
  readonly name: string;
  /** Column definitions and table constraints, one per line, as stored in `sqlite_master`. */
  readonly body: readonly string[];
}

const CONTROL_TABLES: readonly ControlTable[] = [
  {
    name: '_sync_apply_state',
    body: [
      'singleton_key INTEGER NOT NULL PRIMARY KEY CHECK (singleton_key = 1)',
      'apply_mode INTEGER NOT NULL DEFAULT 0',
    ],
  },
  {
    name: '_sync_row_state',
    body: [
      'schema_name TEXT NOT NULL',
      'table_name TEXT NOT NULL',
      'key_json TEXT NOT NULL',
      'row_version INTEGER NOT NULL DEFAULT 0',
      'deleted INTEGER NOT NULL DEFAULT 0',
      `updated_at TEXT NOT NULL DEFAULT (${SQL_NOW})`,
      'PRIMARY KEY (schema_name, table_name, key_json)',
    ],
  },
  {
    name: '_sync_dirty_rows',
    body: [
      'schema_name TEXT NOT NULL',
      'table_name TEXT NOT NULL',
      'key_json TEXT NOT NULL',
      "op TEXT NOT NULL CHECK (op IN ('INSERT','UPDATE','DELETE'))",
      'base_row_version INTEGER NOT NULL DEFAULT 0',
      'payload TEXT',
      'dirty_ordinal INTEGER NOT NULL DEFAULT 0',
      `updated_at TEXT NOT NULL DEFAULT (${SQL_NOW})`,
      'PRIMARY KEY (schema_name, table_name, key_json)',
    ],
  },
  {
    name: '_sync_snapshot_stage',
    body: [
      'snapshot_id TEXT NOT NULL',
      'row_ordinal INTEGER NOT NULL',
      'schema_name TEXT NOT NULL',
      'table_name TEXT NOT NULL',
      'key_json TEXT NOT NULL',
      'row_version INTEGER NOT NULL',
      'payload TEXT NOT NULL',
      'PRIMARY KEY (snapshot_id, row_ordinal)',
      'UNIQUE (snapshot_id, schema_name, table_name, key_json)',
    ],
  },
  {
    name: '_sync_source_state',
    body: [
      'source_id TEXT NOT NULL PRIMARY KEY',
      'next_source_bundle_id INTEGER NOT NULL DEFAULT 1',
      "replaced_by_source_id TEXT NOT NULL DEFAULT ''",
      `created_at TEXT NOT NULL DEFAULT (${SQL_NOW})`,
    ],
  },
  {
    name: '_sync_attachment_state',
    body: [
      'singleton_key INTEGER NOT NULL PRIMARY KEY CHECK (singleton_key = 1)',
      "current_source_id TEXT NOT NULL DEFAULT ''",
      "binding_state TEXT NOT NULL DEFAULT 'anonymous' CHECK (binding_state IN ('anonymous', 'attached'))",
      "attached_user_id TEXT NOT NULL DEFAULT ''",
      "schema_name TEXT NOT NULL DEFAULT ''",
      'last_bundle_seq_seen INTEGER NOT NULL DEFAULT 0',
      'rebuild_required INTEGER NOT NULL DEFAULT 0',
      "pending_initialization_id TEXT NOT NULL DEFAULT ''",
    ],
  },
  {
    name: '_sync_operation_state',
    body: [
      'singleton_key INTEGER NOT NULL PRIMARY KEY CHECK (singleton_key = 1)',
      "kind TEXT NOT NULL DEFAULT 'none' CHECK (kind IN ('none', 'remote_replace', 'source_recovery'))",
      "target_user_id TEXT NOT NULL DEFAULT ''",
      "staged_snapshot_id TEXT NOT NULL DEFAULT ''",
      'snapshot_bundle_seq INTEGER NOT NULL DEFAULT 0',
      'snapshot_row_count INTEGER NOT NULL DEFAULT 0',
      'snapshot_byte_count INTEGER NOT NULL DEFAULT 0',
      'snapshot_stage_complete INTEGER NOT NULL DEFAULT 0',
      "reason TEXT NOT NULL DEFAULT ''",
      "replacement_source_id TEXT NOT NULL DEFAULT ''",
    ],
  },
  {
    name: '_sync_outbox_bundle',
    body: [
      'singleton_key INTEGER NOT NULL PRIMARY KEY CHECK (singleton_key = 1)',
      `canonical_json_contract TEXT NOT NULL CHECK (canonical_json_contract = '${CANONICAL_JSON_CONTRACT}')`,
      "state TEXT NOT NULL DEFAULT 'none' CHECK (state IN ('none', 'prepared', 'committed_remote'))",
      "source_id TEXT NOT NULL DEFAULT ''",
      'source_bundle_id INTEGER NOT NULL DEFAULT 0',
      "initialization_id TEXT NOT NULL DEFAULT ''",
      "canonical_request_hash TEXT NOT NULL DEFAULT ''",
      'row_count INTEGER NOT NULL DEFAULT 0',
      "remote_bundle_hash TEXT NOT NULL DEFAULT ''",
      'remote_bundle_seq INTEGER NOT NULL DEFAULT 0',
    ],
  },
  {
    name: '_sync_outbox_rows',
    body: [
      'source_bundle_id INTEGER NOT NULL',
      'row_ordinal INTEGER NOT NULL',
      'schema_name TEXT NOT NULL',
      'table_name TEXT NOT NULL',
      'key_json TEXT NOT NULL',
      'wire_key_json TEXT NOT NULL',
      "op TEXT NOT NULL CHECK (op IN ('INSERT','UPDATE','DELETE'))",
      'base_row_version INTEGER NOT NULL DEFAULT 0',
      'local_payload TEXT',
      'wire_payload TEXT',
      'PRIMARY KEY (source_bundle_id, row_ordinal)',
    ],
  },
  {
    name: '_sync_managed_tables',
    body: [
      'schema_name TEXT NOT NULL',
      'table_name TEXT NOT NULL',
      'PRIMARY KEY (schema_name, table_name)',
    ],
  },
];

const CONTROL_INDEXES: readonly { readonly name: string; readonly on: string }[] = [
  { name: 'idx_sync_dirty_rows_dirty_ordinal', on: '_sync_dirty_rows(dirty_ordinal)' },
];

/**
 * Names of every runtime-owned `_sync_*` table. Other `_sync_`-prefixed tables belong to the
 * application and are never touched.
 *
 * @example
 * ```ts
 * CONTROL_TABLE_NAMES.includes('_sync_dirty_rows'); // true
 * ```
 */
export const CONTROL_TABLE_NAMES: readonly string[] = CONTROL_TABLES.map((t) => t.name);

/**
 * Names of the runtime-owned indexes.
 *
 * @example
 * ```ts
 * CONTROL_INDEX_NAMES; // ['idx_sync_dirty_rows_dirty_ordinal']
 * ```
 */
export const CONTROL_INDEX_NAMES: readonly string[] = CONTROL_INDEXES.map((i) => i.name);

function tableSql(table: ControlTable, ifNotExists: boolean): string {
  const head = ifNotExists ? 'CREATE TABLE IF NOT EXISTS' : 'CREATE TABLE';
  return `${head} ${table.name} (\n  ${table.body.join(',\n  ')}\n)`;
}

/**
 * The `sqlite_master.sql` text of each control table and index, keyed by name: what the catalog
 * looks like after {@link createControlTables}.
 *
 * @example
 * ```ts
 * controlCatalogSql().get('_sync_apply_state');
 * // 'CREATE TABLE _sync_apply_state (\n  singleton_key INTEGER NOT NULL PRIMARY KEY …\n)'
 * ```
 */
export function controlCatalogSql(): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const t of CONTROL_TABLES) out.set(t.name, tableSql(t, false));
  for (const i of CONTROL_INDEXES) out.set(i.name, `CREATE INDEX ${i.name} ON ${i.on}`);
  return out;
}

/** Seed rows of the singletons; `ON CONFLICT DO NOTHING` keeps an existing row untouched. */
const SINGLETON_SEEDS: readonly string[] = [
  'INSERT INTO _sync_apply_state(singleton_key, apply_mode) VALUES (1, 0) ON CONFLICT(singleton_key) DO NOTHING',
  `INSERT INTO _sync_attachment_state(singleton_key, current_source_id, binding_state, attached_user_id, schema_name, last_bundle_seq_seen, rebuild_required, pending_initialization_id) VALUES (1, '', 'anonymous', '', '', 0, 0, '') ON CONFLICT(singleton_key) DO NOTHING`,
  `INSERT INTO _sync_operation_state(singleton_key, kind, target_user_id, staged_snapshot_id, snapshot_bundle_seq, snapshot_row_count, snapshot_byte_count, snapshot_stage_complete, reason, replacement_source_id) VALUES (1, 'none', '', '', 0, 0, 0, 0, '', '') ON CONFLICT(singleton_key) DO NOTHING`,
  `INSERT INTO _sync_outbox_bundle(singleton_key, canonical_json_contract, state, source_id, source_bundle_id, initialization_id, canonical_request_hash, row_count, remote_bundle_hash, remote_bundle_seq) VALUES (1, '${CANONICAL_JSON_CONTRACT}', 'none', '', 0, '', '', 0, '', 0) ON CONFLICT(singleton_key) DO NOTHING`,
];

/**
 * Creates every control table and index that does not exist yet and seeds the singleton rows.
 * Idempotent; existing rows are never changed. Run it inside the caller's transaction.
 *
 * @example
 * ```ts
 * await db.transaction(async (tx) => {
 *   await createControlTables(tx);
 * });
 * ```
 */
export async function createControlTables(db: SqlExecutor): Promise<void> {
  for (const table of CONTROL_TABLES) await db.exec(tableSql(table, true));
  for (const index of CONTROL_INDEXES) {
    await db.exec(`CREATE INDEX IF NOT EXISTS ${index.name} ON ${index.on}`);
  }
  for (const seed of SINGLETON_SEEDS) await db.run(seed);
}

/**
 * Whitespace- and case-insensitive form of a `CREATE` statement, for comparing stored catalog
 * SQL with what this runtime would create.
 *
 * @example
 * ```ts
 * normalizeSql('CREATE  TABLE x (\n  a INT\n)'); // 'create table x ( a int )'
 * ```
 */
export function normalizeSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim().toLowerCase();
}

/**
 * Fails closed when a control table exists with a different layout (an older or newer local
 * metadata generation). The v1 contract is fresh-database only: there is no in-place migration,
 * and writing v1 rows into an old layout would fail half-way or violate its CHECKs. Read-only, so
 * it runs before any mutation.
 *
 * @example
 * ```ts
 * await assertControlTableLayout(db); // throws `configuration` on a foreign layout
 * ```
 */
export async function assertControlTableLayout(db: SqlExecutor): Promise<void> {
  const expected = controlCatalogSql();
  const rows = await db.all<{ name: string; sql: string | null }>(
    `SELECT name, sql FROM main.sqlite_master WHERE name IN (${[...expected.keys()]
      .map((n) => `'${n}'`)
      .join(', ')})`,
  );
  const drifted = rows
    .filter((r) => normalizeSql(String(r.sql ?? '')) !== normalizeSql(expected.get(r.name) ?? ''))
    .map((r) => r.name)
    .sort();
  if (drifted.length > 0) {
    throw clientError(
      'configuration',
      `local oversqlite metadata layout is incompatible (${drifted.join(', ')}); delete and recreate the local database for the ${CANONICAL_JSON_CONTRACT} contract`,
      { tables: drifted },
    );
  }
}

/**
 * Drops every runtime-owned control table and index (application `_sync_*` tables survive).
 *
 * @example
 * ```ts
 * await dropControlTables(tx);
 * ```
 */
export async function dropControlTables(db: SqlExecutor): Promise<void> {
  for (const index of CONTROL_INDEXES) await db.exec(`DROP INDEX IF EXISTS ${index.name}`);
  for (const table of CONTROL_TABLES) await db.exec(`DROP TABLE IF EXISTS ${table.name}`);
}

/**
 * Resets the trigger-suppression flag. Every open does this: a committed `apply_mode = 1` would
 * otherwise silently stop capturing local writes.
 *
 * @example
 * ```ts
 * await resetApplyMode(db);
 * ```
 */
export async function resetApplyMode(db: SqlExecutor): Promise<void> {
  await db.run('UPDATE _sync_apply_state SET apply_mode = 0 WHERE singleton_key = 1');
}
