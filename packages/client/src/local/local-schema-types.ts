/**
 * Types describing the validated local schema of the managed tables (the result of
 * `initializeLocalRuntime`). Shared by every workflow of the engine.
 *
 * @module
 */

/**
 * How a column's value is encoded, from its declared SQLite type (substring match on the
 * lower-cased declared type): blob+(PK or FK source) → `uuid_blob`; blob → `blob`;
 * real/float/double → `real`; int → `integer`; anything else → `text`.
 *
 * @example
 * ```ts
 * const kind: ColumnKind = table.columns[0]?.kind ?? 'text';
 * ```
 */
export type ColumnKind = 'text' | 'integer' | 'real' | 'blob' | 'uuid_blob';

/**
 * One column of a managed table. `name` is lower-cased (payload keys are lower-case).
 *
 * @example
 * ```ts
 * const keyColumns = table.columns.filter((c: ManagedColumn) => c.primaryKeyPosition > 0);
 * ```
 */
export interface ManagedColumn {
  readonly name: string;
  readonly declaredType: string;
  readonly kind: ColumnKind;
  readonly notNull: boolean;
  /** 1-based position in the primary key, 0 when not part of it. */
  readonly primaryKeyPosition: number;
}

/**
 * A single-column foreign key of a managed table.
 *
 * @example
 * ```ts
 * for (const fk of table.foreignKeys) console.log(`${fk.column} -> ${fk.referencedTable}.${fk.referencedColumn}`);
 * ```
 */
export interface ManagedForeignKey {
  readonly column: string;
  readonly referencedTable: string;
  readonly referencedColumn: string;
}

/**
 * A validated managed table.
 *
 * @example
 * ```ts
 * const table: ManagedTable | undefined = schema.byName.get('todos');
 * console.log(table?.keyColumn, table?.keyKind);
 * ```
 */
export interface ManagedTable {
  /** Configured sync schema name (e.g. `main`, `business`), not the SQLite schema. */
  readonly schema: string;
  /** Lower-cased table name. */
  readonly tableName: string;
  /** Lower-cased sync key column (the single PRIMARY KEY column, NOT NULL). */
  readonly keyColumn: string;
  /** `text` or `uuid_blob`. */
  readonly keyKind: 'text' | 'uuid_blob';
  /** Columns in table order (`PRAGMA table_info`). */
  readonly columns: readonly ManagedColumn[];
  readonly foreignKeys: readonly ManagedForeignKey[];
  /** Position in the parents-first upload order (0-based). */
  readonly order: number;
}

/**
 * The validated configuration of one database.
 *
 * @example
 * ```ts
 * const schema: LocalSchema = await initializeLocalRuntime(db, { schema: 'main', tables });
 * for (const table of schema.tables) console.log(table.tableName, table.order);
 * ```
 */
export interface LocalSchema {
  readonly schema: string;
  /** Managed tables in parents-first order (ties by configuration order; cycles appended). */
  readonly tables: readonly ManagedTable[];
  readonly byName: ReadonlyMap<string, ManagedTable>;
}
