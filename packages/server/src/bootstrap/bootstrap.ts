import type { CommittedBundle } from '../capture/bundle-writer.js';
import type { SyncDatabase } from '../db/sync-database.js';
import {
  SYNC_FUNCTIONS_SQL,
  SYNC_LAYOUT_NAME,
  SYNC_LAYOUT_VERSION,
  SYNC_TABLES_SQL,
} from '../schema/sync-schema-sql.js';
import type { Logger } from '../util/logger.js';
import { adoptExistingRows } from './adoption.js';
import { Catalog } from './catalog.js';
import type { RegisteredTable, TableInfo } from './table-info.js';
import {
  captureFunctionsSql,
  createTriggersSql,
  dropTriggersSql,
  TRIGGER_NAMES,
} from './triggers-sql.js';
import { TableValidationError, validateTables } from './validate-tables.js';

/** Advisory lock key pair ("oversync", bootstrap) so boots of several processes serialise. */
const BOOT_LOCK = [0x6f766572, 0x626f6f74] as const;

/** Thrown when the database holds a `sync` schema of a layout this library cannot use. */
export class SyncLayoutError extends Error {
  override readonly name = 'SyncLayoutError';
}

/**
 * Validates the registered tables, creates or upgrades the `sync` schema, keeps table ids
 * stable (append-only), installs missing triggers (never dropping working ones, which
 * would take ACCESS EXCLUSIVE locks on every boot), and adopts pre-existing rows of newly
 * registered tables. Safe when several processes boot at once.
 */
export async function bootstrapDatabase(
  db: SyncDatabase,
  tables: readonly RegisteredTable[],
  options: { logger: Logger; now: () => Date; randomUUID: () => string },
): Promise<{ catalog: Catalog; adopted: CommittedBundle[] }> {
  const validated = await validateTables(db, tables);
  if (validated.violations.length > 0) throw new TableValidationError(validated.violations);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [...BOOT_LOCK]);
    const { rows: present } = await tx.query<{ meta: boolean }>(
      `SELECT to_regclass('sync.meta') IS NOT NULL AS meta`,
    );
    let current = false;
    if (present[0]?.meta) {
      const { rows } = await tx.query<{ layout_name: string; layout_version: number }>(
        'SELECT layout_name, layout_version FROM sync.meta',
      );
      const m = rows[0];
      if (m && (m.layout_name !== SYNC_LAYOUT_NAME || m.layout_version > SYNC_LAYOUT_VERSION)) {
        throw new SyncLayoutError(
          `sync schema layout ${m.layout_name} v${m.layout_version} is not supported by this library (${SYNC_LAYOUT_NAME} v${SYNC_LAYOUT_VERSION})`,
        );
      }
      current = m?.layout_version === SYNC_LAYOUT_VERSION;
    }
    // Table DDL only for a new or older layout: it takes table locks a routine boot must not.
    if (!current) await tx.exec(SYNC_TABLES_SQL);
    await tx.exec(SYNC_FUNCTIONS_SQL);
    if (!current) {
      await tx.query(
        `INSERT INTO sync.meta (layout_name, layout_version) VALUES ($1, $2)
         ON CONFLICT (singleton) DO UPDATE SET layout_version = EXCLUDED.layout_version`,
        [SYNC_LAYOUT_NAME, SYNC_LAYOUT_VERSION],
      );
    }
    const { rows: known } = await tx.query<{
      table_id: number;
      schema_name: string;
      table_name: string;
      sync_key_column: string;
      active: boolean;
    }>(
      'SELECT table_id, schema_name, table_name, sync_key_column, active FROM sync.table_catalog ORDER BY table_id',
    );
    let nextId = known.reduce((m, k) => Math.max(m, k.table_id), 0) + 1;
    const infos: TableInfo[] = [];
    const fresh: TableInfo[] = [];
    const violations: string[] = [];
    for (const v of [...validated.tables].sort((a, b) =>
      `${a.schema}.${a.table}` < `${b.schema}.${b.table}` ? -1 : 1,
    )) {
      const k = known.find((x) => x.schema_name === v.schema && x.table_name === v.table);
      if (k && k.sync_key_column !== v.keyColumn) {
        violations.push(
          `${v.schema}.${v.table}: sync key changed from ${k.sync_key_column} to ${v.keyColumn}; existing sync state would be wrong`,
        );
        continue;
      }
      const info: TableInfo = { ...v, tableId: k ? k.table_id : nextId++ };
      infos.push(info);
      if (!k) {
        fresh.push(info);
        await tx.query(
          `INSERT INTO sync.table_catalog (table_id, schema_name, table_name, sync_key_column, sync_key_kind)
           VALUES ($1, $2, $3, $4, $5)`,
          [info.tableId, info.schema, info.table, info.keyColumn, info.keyKind],
        );
      } else if (!k.active) {
        // Re-registered: rows written while it was unregistered have no sync state yet.
        fresh.push(info);
        await tx.query('UPDATE sync.table_catalog SET active = true WHERE table_id = $1', [
          info.tableId,
        ]);
      }
    }
    if (violations.length > 0) throw new TableValidationError(violations);
    for (const k of known) {
      if (k.active && !infos.some((i) => i.tableId === k.table_id)) {
        options.logger.warn(
          { table: `${k.schema_name}.${k.table_name}` },
          'table no longer registered; removing its triggers',
        );
        await tx.query('UPDATE sync.table_catalog SET active = false WHERE table_id = $1', [
          k.table_id,
        ]);
        const { rows: exists } = await tx.query<{ r: string | null }>(
          'SELECT to_regclass($1)::text AS r',
          [`"${k.schema_name}"."${k.table_name}"`],
        );
        if (exists[0]?.r) await tx.exec(dropTriggersSql(k.schema_name, k.table_name));
      }
    }
    for (const t of infos) {
      await tx.exec(captureFunctionsSql(t));
      const { rows: trg } = await tx.query<{ tgname: string }>(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = ANY($2::text[])`,
        [`"${t.schema}"."${t.table}"`, [...TRIGGER_NAMES]],
      );
      const sql = createTriggersSql(t, new Set(trg.map((r) => r.tgname)));
      if (sql) await tx.exec(sql);
    }
    const catalog = new Catalog(infos);
    const adopted = await adoptExistingRows(tx, catalog, fresh, options.now(), options.randomUUID);
    if (adopted.length > 0)
      options.logger.info(
        { bundles: adopted.length },
        'adopted pre-existing rows as baseline bundles',
      );
    return { catalog, adopted };
  });
}
