/**
 * Validation of the sync table configuration against the live SQLite schema, run before any
 * `_sync_*` object is created or changed (so a rejected configuration leaves no residue and never
 * rewrites the runtime state of a previously initialised database).
 *
 * Messages follow the KMP runtime word for word where the shared fixture
 * `local-schema/config-validation.json` pins a fragment.
 *
 * @module
 */

import type { SqlExecutor } from '../driver/driver.js';
import { clientError } from '../errors.js';
import type { LocalSchema, ManagedForeignKey, ManagedTable } from './local-schema-types.js';
import { type IntrospectedColumn, readTableInfo, type TableInfo } from './table-info.js';

/**
 * One table registration. `syncKeyColumnName` is the normal form; `syncKeyColumns` exists so that
 * configurations written for the KMP/Dart runtimes (which accept a list) are validated with the
 * same message instead of being silently misread. Exactly one key column is supported.
 *
 * @example
 * ```ts
 * const t: SyncTableRegistration = { tableName: 'users', syncKeyColumnName: 'id' };
 * ```
 */
export interface SyncTableRegistration {
  readonly tableName: string;
  readonly syncKeyColumnName?: string;
  readonly syncKeyColumns?: readonly string[];
}

/**
 * The part of the client options that describes the local schema.
 *
 * @example
 * ```ts
 * const config: LocalRuntimeConfig = {
 *   schema: 'main',
 *   tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
 * };
 * ```
 */
export interface LocalRuntimeConfig {
  /** Server-side sync schema name the tables are registered under (one per database). */
  readonly schema: string;
  readonly tables: readonly SyncTableRegistration[];
}

/**
 * A {@link ManagedTable} plus the table's position in the configuration, which tie-breaks the
 * parents-first order and is what callers reporting "config order" need.
 *
 * @example
 * ```ts
 * const t = schema.byName.get('users') as ValidatedTable;
 * t.configIndex; // 0
 * ```
 */
export interface ValidatedTable extends ManagedTable {
  readonly configIndex: number;
  readonly columns: readonly IntrospectedColumn[];
}

/**
 * The server adds this column to every synced table; a local column of that name would clash.
 *
 * @example
 * ```ts
 * info.columns.some((c) => c.name === RESERVED_SCOPE_COLUMN); // must be false
 * ```
 */
export const RESERVED_SCOPE_COLUMN = '_sync_scope_id';

/**
 * Runtime tables that can never be registered as managed tables (triggers on them would capture
 * the runtime's own bookkeeping).
 */
const RUNTIME_TABLES = new Set([
  '_sync_apply_state',
  '_sync_attachment_state',
  '_sync_dirty_rows',
  '_sync_managed_tables',
  '_sync_operation_state',
  '_sync_outbox_bundle',
  '_sync_outbox_rows',
  '_sync_row_state',
  '_sync_snapshot_stage',
  '_sync_source_state',
]);

function configurationError(message: string, details?: Record<string, unknown>): Error {
  return clientError('configuration', message, details);
}

/** The single configured key column (trimmed), or a configuration error. */
function configuredKeyColumn(registration: SyncTableRegistration): string {
  const rawList = (registration as { syncKeyColumns?: unknown }).syncKeyColumns;
  const explicit: string[] = [];
  if (Array.isArray(rawList)) {
    const seen = new Set<string>();
    for (const item of rawList) {
      if (typeof item !== 'string') continue;
      const trimmed = item.trim();
      if (trimmed === '' || seen.has(trimmed.toLowerCase())) continue;
      seen.add(trimmed.toLowerCase());
      explicit.push(trimmed);
    }
  }
  let keys = explicit;
  if (keys.length === 0) {
    const single = registration.syncKeyColumnName;
    const trimmed = typeof single === 'string' ? single.trim() : '';
    if (trimmed === '') {
      throw configurationError(
        `table ${registration.tableName} must declare syncKeyColumnName or syncKeyColumns explicitly`,
      );
    }
    keys = [trimmed];
  }
  if (keys.length !== 1) {
    throw configurationError(
      `table ${registration.tableName} must declare exactly one sync key column in the current client runtime`,
    );
  }
  return keys[0] as string;
}

/** The validated key column of one table (the only PK column, TEXT or BLOB, NOT NULL). */
function validatedKeyColumn(
  registration: SyncTableRegistration,
  info: TableInfo,
  configuredKey: string,
): IntrospectedColumn {
  const label = registration.tableName;
  const primaryKey = info.columns.filter((c) => c.primaryKeyPosition > 0);
  if (primaryKey.length !== 1) {
    // Counting every PK position (not just position 1) also rejects a composite PRIMARY KEY
    // whose first column happens to be the configured key.
    throw configurationError(
      `table ${label} must declare exactly one local SQLite PRIMARY KEY column for oversqlite sync`,
    );
  }
  const column = info.columns.find((c) => c.name === configuredKey.toLowerCase());
  if (!column) {
    throw configurationError(
      `table ${label} does not contain configured primary key column ${configuredKey}`,
    );
  }
  if (column.primaryKeyPosition === 0) {
    throw configurationError(
      `configured primary key column ${column.sqlName} for table ${label} is not declared as PRIMARY KEY`,
    );
  }
  if (column.kind !== 'text' && column.kind !== 'blob' && column.kind !== 'uuid_blob') {
    throw configurationError(
      `configured primary key column ${column.sqlName} for table ${label} must be TEXT PRIMARY KEY or BLOB PRIMARY KEY`,
    );
  }
  if (!column.notNull) {
    // SQLite lets a non-INTEGER PRIMARY KEY hold NULL; a NULL key cannot be synced, and fixing
    // that needs a table rebuild that only the application can do.
    throw configurationError(
      `configured visible sync-key column ${column.sqlName} for table ${label} must declare NOT NULL explicitly; repair or recreate the local application database before sync initialization`,
    );
  }
  return column;
}

/** FK closure: no composite FKs, every FK points at a managed table. Messages are sorted. */
function checkForeignKeyClosure(infos: ReadonlyMap<string, TableInfo>): void {
  const composite: string[] = [];
  const missing: string[] = [];
  for (const [tableName, info] of infos) {
    const compositeIds = new Set(info.foreignKeys.filter((fk) => fk.seq > 0).map((fk) => fk.id));
    for (const fk of info.foreignKeys) {
      if (fk.referencedTable === '') continue;
      if (compositeIds.has(fk.id)) {
        // Report each composite key once (on its first column).
        if (fk.seq === 0) composite.push(`${tableName} -> ${fk.referencedTable}`);
        continue;
      }
      if (!infos.has(fk.referencedTable)) {
        missing.push(
          `${tableName}.${fk.fromColumn} -> ${fk.referencedTable}.${fk.toColumn ?? '(primary key)'}`,
        );
      }
    }
  }
  if (composite.length > 0) {
    throw configurationError(
      `managed tables contain unsupported composite foreign keys: ${composite.sort().join('; ')}`,
    );
  }
  if (missing.length > 0) {
    throw configurationError(`managed tables are not FK-closed: ${missing.sort().join('; ')}`);
  }
}

/**
 * Parents-first order of the managed tables (Kahn's algorithm over the FK graph): among tables
 * whose parents are all placed, the earliest in configuration order goes next; tables on a cycle
 * (and their descendants) are appended in configuration order. Self-references are ignored.
 *
 * @example
 * ```ts
 * computeTableOrder(['posts', 'users'], new Map([['posts', ['users']], ['users', []]]));
 * // ['users', 'posts']
 * ```
 */
export function computeTableOrder(
  configOrder: readonly string[],
  parentsByTable: ReadonlyMap<string, readonly string[]>,
): string[] {
  const position = new Map(configOrder.map((t, i) => [t, i] as const));
  const children = new Map<string, Set<string>>(configOrder.map((t) => [t, new Set<string>()]));
  const inDegree = new Map<string, number>(configOrder.map((t) => [t, 0]));
  for (const table of configOrder) {
    for (const parent of parentsByTable.get(table) ?? []) {
      if (parent === table || !position.has(parent)) continue;
      const set = children.get(parent) as Set<string>;
      if (set.has(table)) continue; // two FKs to the same parent are one edge
      set.add(table);
      inDegree.set(table, (inDegree.get(table) ?? 0) + 1);
    }
  }
  const byConfig = (a: string, b: string): number =>
    (position.get(a) as number) - (position.get(b) as number);
  const ready = configOrder.filter((t) => inDegree.get(t) === 0);
  const ordered: string[] = [];
  while (ready.length > 0) {
    ready.sort(byConfig);
    const current = ready.shift() as string;
    ordered.push(current);
    for (const child of [...(children.get(current) ?? [])].sort(byConfig)) {
      const left = (inDegree.get(child) as number) - 1;
      inDegree.set(child, left);
      if (left === 0) ready.push(child);
    }
  }
  const placed = new Set(ordered);
  for (const table of configOrder) if (!placed.has(table)) ordered.push(table);
  return ordered;
}

/**
 * Refuses a schema switch on a database that already holds row-level sync state for another
 * schema: every `_sync_*` row carries its schema name, and mixing two would upload rows under the
 * wrong server schema. (Go checks the same; KMP/Dart do not, which the shared docs call a gap.)
 */
async function checkExistingSchemaScope(db: SqlExecutor, schema: string): Promise<void> {
  const present = await db.all<{ name: string }>(
    "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name IN ('_sync_row_state', '_sync_dirty_rows', '_sync_outbox_rows', '_sync_snapshot_stage')",
  );
  if (present.length === 0) return;
  const union = present.map((r) => `SELECT DISTINCT schema_name FROM ${r.name}`).join(' UNION ');
  const rows = await db.all<{ schema_name: string }>(
    `SELECT schema_name FROM (${union}) WHERE schema_name <> ? ORDER BY schema_name`,
    [schema],
  );
  if (rows.length > 0) {
    const other = rows.map((r) => String(r.schema_name)).join(', ');
    throw configurationError(
      `database already holds sync state for schema ${other}, but config.schema is ${schema}; oversqlite supports exactly one config.schema per local database`,
      { schema, existingSchemas: rows.map((r) => String(r.schema_name)) },
    );
  }
}

/**
 * Validates `config` against the live schema of `db` and returns the managed tables in
 * parents-first order. Only reads: call it before creating or touching any `_sync_*` object.
 *
 * Throws `OversyncClientError` with code `configuration` for every rejected configuration.
 *
 * @example
 * ```ts
 * const schema = await validateLocalConfig(db, {
 *   schema: 'main',
 *   tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
 * });
 * schema.tables.map((t) => t.tableName); // ['users']
 * ```
 */
export async function validateLocalConfig(
  db: SqlExecutor,
  config: LocalRuntimeConfig,
): Promise<LocalSchema> {
  const schema = typeof config.schema === 'string' ? config.schema.trim() : '';
  if (schema === '') throw configurationError('config.schema must be provided');
  if (!Array.isArray(config.tables)) {
    throw configurationError('config.tables must be an array of sync table registrations');
  }

  const infos = new Map<string, TableInfo>();
  const keyByTable = new Map<string, IntrospectedColumn>();
  const configOrder: string[] = [];
  for (const registration of config.tables) {
    const rawName = typeof registration?.tableName === 'string' ? registration.tableName : '';
    const tableName = rawName.trim().toLowerCase();
    if (tableName === '') throw configurationError('sync table name must be provided');
    if (tableName.includes('.')) {
      throw configurationError(
        `table ${rawName} must not include a schema qualifier; oversqlite supports exactly one config.schema per local database`,
      );
    }
    if (infos.has(tableName)) {
      throw configurationError(`duplicate sync table registration for ${rawName}`);
    }
    if (RUNTIME_TABLES.has(tableName)) {
      throw configurationError(
        `table ${rawName} is an oversqlite runtime table and cannot be synced`,
      );
    }
    const keyName = configuredKeyColumn(registration);
    const info = await readTableInfo(db, tableName);
    if (!info) {
      throw configurationError(`sync table ${rawName} does not exist in the local database`);
    }
    if (info.columns.some((c) => c.name === RESERVED_SCOPE_COLUMN)) {
      throw configurationError(
        `table ${rawName} must not declare reserved server column ${RESERVED_SCOPE_COLUMN} in local oversqlite schema`,
      );
    }
    keyByTable.set(tableName, validatedKeyColumn(registration, info, keyName));
    infos.set(tableName, info);
    configOrder.push(tableName);
  }

  checkForeignKeyClosure(infos);
  await checkExistingSchemaScope(db, schema);

  const parents = new Map(
    configOrder.map((t) => [
      t,
      (infos.get(t) as TableInfo).foreignKeys.map((fk) => fk.referencedTable),
    ]),
  );
  const order = computeTableOrder(configOrder, parents);
  const tables: ValidatedTable[] = order.map((tableName, index) => {
    const info = infos.get(tableName) as TableInfo;
    const key = keyByTable.get(tableName) as IntrospectedColumn;
    const foreignKeys: ManagedForeignKey[] = info.foreignKeys.map((fk) => ({
      column: fk.fromColumn.toLowerCase(),
      referencedTable: fk.referencedTable,
      // `REFERENCES parent` without a column means the parent's primary key, which FK closure
      // guarantees is that managed table's key column.
      referencedColumn:
        fk.toColumn?.toLowerCase() ?? keyByTable.get(fk.referencedTable)?.name ?? '',
    }));
    return {
      schema,
      tableName,
      keyColumn: key.name,
      keyKind: key.kind === 'text' ? 'text' : 'uuid_blob',
      columns: info.columns,
      foreignKeys,
      order: index,
      configIndex: configOrder.indexOf(tableName),
    };
  });
  return { schema, tables, byName: new Map(tables.map((t) => [t.tableName, t])) };
}
