/**
 * Normalised views of the demo tables, so SQLite rows and PostgreSQL rows compare with plain
 * `toEqual`: every value becomes a string (or null) spelled the way the wire spells it.
 *
 * - UUIDs: lowercase dashed text (SQLite BLOB keys are converted);
 * - integers and numerics: decimal text (int64 exact on both sides);
 * - booleans: `'true'` / `'false'` (SQLite 1 / 0);
 * - REAL: the JS shortest round-trip spelling of the double (PostgreSQL float8 text re-parsed);
 * - BLOB: lowercase hex;
 * - timestamps: the server's payload spelling (`to_json(ts AT TIME ZONE 'UTC') || 'Z'`); the client
 *   stores what the server sends, so the texts must be identical.
 *
 * @module
 */

import type { SqlValue } from '@oversync/client';
import { type ColumnSpec, type DemoTableName, TABLE_SPECS, tableSpec } from './local-schema.js';

/** A normalised row: column → string or null. */
export type NormRow = Record<string, string | null>;

/** Normalised content of every demo table. */
export type NormTables = Record<DemoTableName, NormRow[]>;

/** Anything that can run a read query (a client driver, a better-sqlite3 wrapper). */
export interface SqlReader {
  all<T extends Record<string, SqlValue> = Record<string, SqlValue>>(
    sql: string,
    params?: readonly SqlValue[],
  ): Promise<T[]>;
}

/** Anything that can run a PostgreSQL query (`TestDatabase.query`). */
export type PgQuery = <R = Record<string, unknown>>(
  sql: string,
  params?: unknown[],
) => Promise<R[]>;

/** 16 bytes → dashed lowercase UUID. */
export function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  if (hex.length !== 32) throw new Error(`not a 16-byte UUID blob: ${hex}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Dashed UUID → 16 bytes. */
export function uuidToBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`not a canonical UUID: ${uuid}`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function realText(value: number): string {
  return String(value === 0 ? 0 : value);
}

/** Normalises one SQLite value of `column`. */
export function normLocal(column: ColumnSpec, value: SqlValue | undefined): string | null {
  if (value === null || value === undefined) return null;
  switch (column.kind) {
    case 'uuid_blob':
      if (!(value instanceof Uint8Array)) return `!not-a-blob:${String(value)}`;
      return bytesToUuid(value);
    case 'blob':
      if (!(value instanceof Uint8Array)) return `!not-a-blob:${String(value)}`;
      return Buffer.from(value).toString('hex');
    case 'int':
      return typeof value === 'number' || typeof value === 'bigint'
        ? BigInt(value).toString()
        : `!not-an-integer:${String(value)}`;
    case 'bool':
      if (value === 1 || value === 1n) return 'true';
      if (value === 0 || value === 0n) return 'false';
      return `!not-a-boolean:${String(value)}`;
    case 'real':
      return typeof value === 'number' ? realText(value) : `!not-a-real:${String(value)}`;
    default:
      return typeof value === 'string' ? value : `!not-text:${String(value)}`;
  }
}

/** Normalises one PostgreSQL value as selected by {@link pgSelectList}. */
function normPg(column: ColumnSpec, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (column.kind === 'real') return realText(Number(value));
  return String(value);
}

/** The SELECT expression of a column for {@link pgTables}. */
function pgExpr(column: ColumnSpec): string {
  const ref = `"${column.name}"`;
  switch (column.kind) {
    case 'uuid_text':
    case 'uuid_blob':
    case 'int':
    case 'numeric':
      return `${ref}::text`;
    case 'bool':
      return `CASE WHEN ${ref} IS NULL THEN NULL WHEN ${ref} THEN 'true' ELSE 'false' END`;
    case 'real':
      return `${ref}::float8::text`;
    case 'blob':
      return `encode(${ref}, 'hex')`;
    case 'timestamp':
      return `CASE WHEN ${ref} IS NULL THEN NULL ELSE (to_json(${ref} AT TIME ZONE 'UTC') #>> '{}') || 'Z' END`;
    default:
      return ref;
  }
}

/** The comma-separated SELECT list of a table for PostgreSQL. */
export function pgSelectList(table: DemoTableName): string {
  return tableSpec(table)
    .columns.map((col) => `${pgExpr(col)} AS "${col.name}"`)
    .join(', ');
}

function byId(a: NormRow, b: NormRow): number {
  const x = a.id ?? '';
  const y = b.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Normalised rows of one local table, sorted by id. */
export async function localTable(db: SqlReader, table: DemoTableName): Promise<NormRow[]> {
  const spec = tableSpec(table);
  const rows = await db.all(`SELECT * FROM "${table}"`);
  return rows
    .map((r) => {
      const out: NormRow = {};
      for (const col of spec.columns) out[col.name] = normLocal(col, r[col.name]);
      return out;
    })
    .sort(byId);
}

/** Normalised rows of one server table for `userId`, sorted by id. */
export async function pgTable(
  query: PgQuery,
  userId: string,
  table: DemoTableName,
): Promise<NormRow[]> {
  const spec = tableSpec(table);
  const rows = await query<Record<string, unknown>>(
    `SELECT ${pgSelectList(table)} FROM business."${table}" WHERE _sync_scope_id = $1`,
    [userId],
  );
  return rows
    .map((r) => {
      const out: NormRow = {};
      for (const col of spec.columns) out[col.name] = normPg(col, r[col.name]);
      return out;
    })
    .sort(byId);
}

/** Every local demo table, normalised. */
export async function localTables(db: SqlReader): Promise<NormTables> {
  const out = {} as NormTables;
  for (const t of TABLE_SPECS) out[t.name] = await localTable(db, t.name);
  return out;
}

/** Every server demo table of `userId`, normalised. */
export async function pgTables(query: PgQuery, userId: string): Promise<NormTables> {
  const out = {} as NormTables;
  for (const t of TABLE_SPECS) out[t.name] = await pgTable(query, userId, t.name);
  return out;
}

/** Row counts per table (for compact assertion messages). */
export function counts(tables: NormTables): Record<string, number> {
  return Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.length]));
}
