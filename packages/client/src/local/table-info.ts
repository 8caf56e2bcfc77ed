/**
 * Introspection of application tables through `PRAGMA table_info` / `PRAGMA foreign_key_list`,
 * and the column classification that decides how every value is encoded locally and on the wire.
 *
 * Everything here only reads; validation (what is acceptable) lives in `config-validation.ts`.
 *
 * @module
 */

import type { SqlExecutor, SqlValue } from '../driver/driver.js';
import type { ColumnKind, ManagedColumn } from './local-schema-types.js';

/**
 * A {@link ManagedColumn} plus what introspection knows beyond the shared type.
 *
 * `sqlName` keeps the declared spelling: SQLite identifiers are case-insensitive, but the KMP/Dart
 * runtimes quote the declared spelling inside trigger SQL, and byte-identical trigger text keeps
 * a database shared with those runtimes from reinstalling triggers on every open.
 *
 * @example
 * ```ts
 * const col: IntrospectedColumn = {
 *   name: 'title', sqlName: 'Title', declaredType: 'TEXT', kind: 'text', notNull: true,
 *   primaryKeyPosition: 0, defaultValue: null, isForeignKeySource: false,
 * };
 * ```
 */
export interface IntrospectedColumn extends ManagedColumn {
  /** The column name as declared (not lower-cased), for quoting in SQL. */
  readonly sqlName: string;
  /** `dflt_value` of `PRAGMA table_info`, verbatim SQL text, or `null`. */
  readonly defaultValue: string | null;
  /** True when the column is the source column of some foreign key. */
  readonly isForeignKeySource: boolean;
}

/**
 * One row of `PRAGMA foreign_key_list`. A composite foreign key spans several rows with the same
 * `id` and increasing `seq`.
 *
 * @example
 * ```ts
 * const fk: IntrospectedForeignKey = {
 *   id: 0, seq: 0, referencedTable: 'users', fromColumn: 'user_id', toColumn: 'id',
 * };
 * ```
 */
export interface IntrospectedForeignKey {
  readonly id: number;
  readonly seq: number;
  /** Lower-cased referenced table name. */
  readonly referencedTable: string;
  /** Source column as declared. */
  readonly fromColumn: string;
  /** Referenced column as declared, or `null` for `REFERENCES parent` (implicitly its PK). */
  readonly toColumn: string | null;
}

/**
 * What introspection found for one table of the `main` schema.
 *
 * @example
 * ```ts
 * const info = await readTableInfo(db, 'users');
 * if (info) console.log(info.columns.map((c) => c.kind));
 * ```
 */
export interface TableInfo {
  /** Lower-cased table name. */
  readonly tableName: string;
  /** Columns in `cid` order (generated columns are not listed by `table_info`, by design). */
  readonly columns: readonly IntrospectedColumn[];
  readonly foreignKeys: readonly IntrospectedForeignKey[];
}

/**
 * Classifies a column from its declared type, exactly as the KMP/Dart runtimes do (substring
 * match on the lower-cased declared type, first rule wins):
 * blob + (PK or FK source) → `uuid_blob`; blob → `blob`; real/float/double → `real`;
 * int → `integer`; everything else (NUMERIC, BOOLEAN, DATETIME, VARCHAR, untyped …) → `text`.
 *
 * @example
 * ```ts
 * classifyColumnKind('BLOB', true, false); // 'uuid_blob'
 * classifyColumnKind('BIGINT', false, false); // 'integer'
 * classifyColumnKind('DOUBLE PRECISION', false, false); // 'real'
 * classifyColumnKind('NUMERIC(10,2)', false, false); // 'text'
 * ```
 */
export function classifyColumnKind(
  declaredType: string,
  isPrimaryKey: boolean,
  isForeignKeySource: boolean,
): ColumnKind {
  const type = declaredType.toLowerCase();
  if (type.includes('blob')) return isPrimaryKey || isForeignKeySource ? 'uuid_blob' : 'blob';
  if (type.includes('real') || type.includes('float') || type.includes('double')) return 'real';
  if (type.includes('int')) return 'integer';
  return 'text';
}

/**
 * Quotes an SQL identifier with double quotes, doubling embedded quotes.
 *
 * @example
 * ```ts
 * quoteIdent('users'); // '"users"'
 * quoteIdent('a"b'); // '"a""b"'
 * ```
 */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Renders a string as an SQL string literal, doubling embedded single quotes.
 *
 * @example
 * ```ts
 * sqlStringLiteral("O'Brien"); // "'O''Brien'"
 * ```
 */
export function sqlStringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The declared spelling of a column for SQL text: `sqlName` when introspection recorded it,
 * otherwise the lower-cased `name` (equivalent for SQLite, which compares identifiers
 * case-insensitively).
 *
 * @example
 * ```ts
 * columnSqlName({ name: 'title', sqlName: 'Title' } as IntrospectedColumn); // 'Title'
 * ```
 */
export function columnSqlName(column: ManagedColumn): string {
  const sqlName = (column as Partial<IntrospectedColumn>).sqlName;
  return typeof sqlName === 'string' ? sqlName : column.name;
}

interface TableInfoRow extends Record<string, SqlValue> {
  cid: number;
  name: string;
  type: string | null;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

interface ForeignKeyRow extends Record<string, SqlValue> {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
}

/**
 * Reads the columns and foreign keys of table `tableName` in the `main` schema, or `undefined`
 * when no such table exists (views and virtual tables do not count: triggers cannot capture them
 * the way the runtime needs).
 *
 * @example
 * ```ts
 * const info = await readTableInfo(db, 'posts');
 * info?.foreignKeys; // [{ id: 0, seq: 0, referencedTable: 'users', fromColumn: 'user_id', toColumn: 'id' }]
 * ```
 */
export async function readTableInfo(
  db: SqlExecutor,
  tableName: string,
): Promise<TableInfo | undefined> {
  const lower = tableName.toLowerCase();
  // sqlite_master lookups are case-sensitive while SQLite resolves identifiers without case,
  // so compare lower-cased names; `sql LIKE 'CREATE VIRTUAL%'` excludes virtual tables.
  const master = await db.get<{ name: string; sql: string | null }>(
    "SELECT name, sql FROM main.sqlite_master WHERE type = 'table' AND lower(name) = ?",
    [lower],
  );
  if (!master || (master.sql ?? '').toUpperCase().startsWith('CREATE VIRTUAL')) return undefined;

  const quoted = quoteIdent(master.name);
  const columnRows = await db.all<TableInfoRow>(`PRAGMA main.table_info(${quoted})`);
  const fkRows = await db.all<ForeignKeyRow>(`PRAGMA main.foreign_key_list(${quoted})`);

  const foreignKeys: IntrospectedForeignKey[] = fkRows.map((r) => ({
    id: Number(r.id),
    seq: Number(r.seq),
    referencedTable: String(r.table).trim().toLowerCase(),
    fromColumn: String(r.from),
    toColumn: r.to === null ? null : String(r.to),
  }));
  const fkSources = new Set(foreignKeys.map((fk) => fk.fromColumn.toLowerCase()));

  const columns: IntrospectedColumn[] = columnRows.map((r) => {
    const sqlName = String(r.name);
    const declaredType = r.type === null ? '' : String(r.type);
    const primaryKeyPosition = Number(r.pk);
    const isForeignKeySource = fkSources.has(sqlName.toLowerCase());
    return {
      name: sqlName.toLowerCase(),
      sqlName,
      declaredType,
      kind: classifyColumnKind(declaredType, primaryKeyPosition > 0, isForeignKeySource),
      notNull: Number(r.notnull) === 1,
      primaryKeyPosition,
      defaultValue: r.dflt_value === null ? null : String(r.dflt_value),
      isForeignKeySource,
    };
  });
  return { tableName: lower, columns, foreignKeys };
}
