/**
 * What the server knows about one registered table after bootstrap.
 *
 * @module
 */

/** A table the application registers for sync. */
export interface RegisteredTable {
  /** PostgreSQL schema, lowercase (e.g. `business`). */
  schema: string;
  /** Table name, lowercase. */
  table: string;
  /** The one visible sync key column (`uuid` or `text`). */
  syncKeyColumn: string;
}

/** How a column's values travel on the G2 wire. */
export type ColumnFamily =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'boolean'
  | 'text'
  | 'blob'
  | 'uuid'
  | 'json'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'other';

/** One column of a registered table (the hidden scope column excluded). */
export interface ColumnInfo {
  name: string;
  /** Base type name (`int8`, `numeric`, `float4`, …). */
  type: string;
  family: ColumnFamily;
  notNull: boolean;
  hasDefault: boolean;
  generated: boolean;
  /** Inclusive integer range for int2/int4/int8. */
  intRange?: readonly [bigint, bigint];
}

/** A registered table with its stable id and column catalog. */
export interface TableInfo {
  tableId: number;
  schema: string;
  table: string;
  keyColumn: string;
  keyKind: 'uuid' | 'text';
  /** Columns sorted by name (the canonical payload member order). */
  columns: readonly ColumnInfo[];
  columnsByName: ReadonlyMap<string, ColumnInfo>;
}

const INT_RANGES: Record<string, readonly [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
};

/** The wire family of a PostgreSQL base type. */
export function columnFamily(type: string): ColumnFamily {
  switch (type) {
    case 'int2':
    case 'int4':
    case 'int8':
      return 'integer';
    case 'numeric':
      return 'decimal';
    case 'float4':
    case 'float8':
      return 'float';
    case 'bool':
      return 'boolean';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'citext':
    case 'name':
      return 'text';
    case 'bytea':
      return 'blob';
    case 'uuid':
      return 'uuid';
    case 'json':
    case 'jsonb':
      return 'json';
    case 'timestamptz':
      return 'timestamptz';
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    default:
      return 'other';
  }
}

/** Integer range of an integer type, if any. */
export function intRange(type: string): readonly [bigint, bigint] | undefined {
  return INT_RANGES[type];
}
