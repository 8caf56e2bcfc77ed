/**
 * Local runtime installation (open step 1 of the KMP/Dart runtimes) and uninstallation.
 *
 * @module
 */

import type { SqlExecutor, SqliteDriver } from '../driver/driver.js';
import { type LocalRuntimeConfig, validateLocalConfig } from './config-validation.js';
import {
  assertControlTableLayout,
  createControlTables,
  dropControlTables,
  resetApplyMode,
} from './control-tables.js';
import type { LocalSchema } from './local-schema-types.js';
import { dropTriggers, installTriggers } from './triggers.js';

/**
 * Validates `config` against the live schema, then creates the `_sync_*` control tables,
 * registers the managed tables in `_sync_managed_tables`, (re)installs the six triggers of every
 * managed table and resets `apply_mode` to 0 — all in one transaction.
 *
 * Validation runs first and only reads, so a rejected configuration leaves no `_sync_*` residue
 * on a fresh database and leaves an initialised database (rows, checkpoint, source, outbox,
 * triggers) exactly as it was. Idempotent: call it on every open.
 *
 * @example
 * ```ts
 * const schema = await initializeLocalRuntime(db, {
 *   schema: 'main',
 *   tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
 * });
 * const { sourceId } = await bindLocalSource(db, schema, () => crypto.randomUUID());
 * ```
 */
export async function initializeLocalRuntime(
  db: SqliteDriver,
  config: LocalRuntimeConfig,
): Promise<LocalSchema> {
  return db.transaction(async (tx) => {
    const schema = await validateLocalConfig(tx, config);
    await assertControlTableLayout(tx);
    await createControlTables(tx);
    for (const table of schema.tables) {
      await tx.run(
        'INSERT INTO _sync_managed_tables(schema_name, table_name) VALUES (?, ?) ON CONFLICT(schema_name, table_name) DO NOTHING',
        [schema.schema, table.tableName],
      );
    }
    for (const table of schema.tables) await installTriggers(tx, table);
    await resetApplyMode(tx);
    return schema;
  });
}

/**
 * What {@link uninstallLocalRuntime} needs from the configuration: the table names only, since
 * tables may have been dropped or changed since they were managed.
 *
 * @example
 * ```ts
 * const cfg: UninstallConfig = { tables: [{ tableName: 'users' }] };
 * ```
 */
export interface UninstallConfig {
  readonly tables: readonly { readonly tableName: string }[];
}

async function registryTables(tx: SqlExecutor): Promise<string[]> {
  const exists = await tx.get(
    "SELECT 1 AS present FROM main.sqlite_master WHERE type = 'table' AND name = '_sync_managed_tables'",
  );
  if (!exists) return [];
  const rows = await tx.all<{ table_name: string }>(
    'SELECT DISTINCT table_name FROM _sync_managed_tables ORDER BY table_name',
  );
  return rows.map((r) => String(r.table_name));
}

/**
 * Removes sync from the database: drops the triggers of every configured table and of every
 * table in the `_sync_managed_tables` registry (so tables removed from the configuration are
 * covered too), then drops every runtime-owned `_sync_*` table. Application tables and their
 * rows are kept, as are application tables whose names merely start with `_sync_`.
 *
 * @example
 * ```ts
 * await uninstallLocalRuntime(db, { tables: [{ tableName: 'users' }] });
 * ```
 */
export async function uninstallLocalRuntime(
  db: SqliteDriver,
  config: UninstallConfig,
): Promise<void> {
  await db.transaction(async (tx) => {
    const names = new Set<string>();
    for (const t of config.tables) {
      const name = typeof t?.tableName === 'string' ? t.tableName.trim().toLowerCase() : '';
      if (name !== '') names.add(name);
    }
    for (const name of await registryTables(tx)) names.add(name.toLowerCase());
    for (const name of names) await dropTriggers(tx, name);
    await dropControlTables(tx);
  });
}
