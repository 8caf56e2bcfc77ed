import { quoteIdent, quoteLiteral } from '../util/sql.js';
import type { ColumnInfo, TableInfo } from './table-info.js';

/**
 * SQL that renders one row as its canonical G2 payload text.
 *
 * Why in SQL: the capture triggers, snapshots and conflict bodies all need the same bytes,
 * and producing canonical JSON (RFC 8785: members sorted, compact, JSON.stringify string
 * escaping — which PostgreSQL's `to_json(text)` matches) directly in PostgreSQL means no
 * payload is ever parsed or re-serialised in JavaScript on a hot path. Every value is a
 * string except booleans and NULL, so canonical form is just sorted member order.
 *
 * @param alias - the row alias the expression reads from (e.g. `n`).
 */
export function payloadSql(table: TableInfo, alias: string): string {
  const parts = table.columns.map((c, i) => {
    const prefix = `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`;
    return `${quoteLiteral(prefix)} || ${valueSql(c, `${alias}.${quoteIdent(c.name)}`)}`;
  });
  return `(${parts.join(' || ')} || '}')`;
}

/** SQL for one column value as JSON text (never NULL). */
export function valueSql(column: ColumnInfo, ref: string): string {
  switch (column.family) {
    case 'boolean':
      return `(CASE WHEN ${ref} IS NULL THEN 'null' WHEN ${ref} THEN 'true' ELSE 'false' END)`;
    case 'float':
      return `COALESCE(to_json(sync.js_number_text(${ref}::float8))::text, 'null')`;
    case 'blob':
      return `COALESCE('"' || translate(encode(${ref}, 'base64'), E'\\n', '') || '"', 'null')`;
    case 'timestamptz':
      return `(CASE WHEN ${ref} IS NULL THEN 'null' WHEN isfinite(${ref}) THEN '"' || (to_json(${ref} AT TIME ZONE 'UTC') #>> '{}') || 'Z"' ELSE to_json(${ref}::text)::text END)`;
    case 'timestamp':
    case 'date':
      return `COALESCE(to_json(${ref})::text, 'null')`;
    default:
      return `COALESCE(to_json(${ref}::text)::text, 'null')`;
  }
}

/** SQL for the key text of a row. */
export function keySql(table: TableInfo, alias: string): string {
  const ref = `${alias}.${quoteIdent(table.keyColumn)}`;
  return table.keyKind === 'uuid' ? `${ref}::text` : ref;
}

/** SQL that casts a key text parameter/column to the key column type. */
export function keyCast(table: TableInfo, ref: string): string {
  return table.keyKind === 'uuid' ? `${ref}::uuid` : `${ref}::text`;
}

/** PostgreSQL `jsonb` member order: shorter names first, then bytewise. */
function jsonbOrder(a: ColumnInfo, b: ColumnInfo): number {
  return a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** SQL for one column value as go-oversync's `to_jsonb(row)` renders it (never NULL). */
function g1ValueSql(column: ColumnInfo, ref: string): string {
  switch (column.family) {
    case 'blob':
      return valueSql(column, ref);
    case 'json':
      return `COALESCE(${ref}::jsonb::text, 'null')`;
    case 'other':
      return `COALESCE(to_jsonb(${ref}::text)::text, 'null')`;
    case 'timestamptz':
      // to_jsonb's spelling in a UTC session, without depending on the session time zone.
      return `(CASE WHEN ${ref} IS NULL THEN 'null' WHEN isfinite(${ref}) THEN '"' || (to_json(${ref} AT TIME ZONE 'UTC') #>> '{}') || '+00:00"' ELSE to_jsonb(${ref})::text END)`;
    default:
      // Numbers exactly as PostgreSQL prints them (scale kept), timestamptz in the session
      // time zone (UTC), NaN/Infinity as strings — the bytes go-oversync sends in snapshots.
      return `COALESCE(to_jsonb(${ref})::text, 'null')`;
  }
}

/**
 * SQL rendering one row as go-oversync's snapshot payload (G1): members in `jsonb` order,
 * numbers exact, compact.
 *
 * Also returns what the row adds to the G1 snapshot `byte_count`, which go-oversync measures
 * on the payload text it stores: PostgreSQL's `jsonb` text (one space after every `:` and
 * `,`), except for rows with a non-null `bytea` value, which it re-encodes with Go's JSON
 * encoder (compact, `<` `>` `&` as 6-byte escapes, U+2028/9 as `\u` escapes).
 *
 * @example
 * ```ts
 * const { payload, byteLen } = g1PayloadSql(table, 'b');
 * const sql = `SELECT p, ${byteLen('p', 'hb')} FROM (SELECT ${payload} AS p, ${hasBlob} AS hb FROM t b) x`;
 * ```
 */
export function g1PayloadSql(
  table: TableInfo,
  alias: string,
): {
  payload: string;
  hasBlob: string;
  byteLen: (payloadRef: string, hasBlobRef: string) => string;
} {
  const columns = [...table.columns].sort(jsonbOrder);
  const parts = columns.map((c, i) => {
    const prefix = `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`;
    return `${quoteLiteral(prefix)} || ${g1ValueSql(c, `${alias}.${quoteIdent(c.name)}`)}`;
  });
  const payload = `(${parts.join(' || ')} || '}')`;
  const blobs = table.columns
    .filter((c) => c.family === 'blob')
    .map((c) => `${alias}.${quoteIdent(c.name)} IS NOT NULL`);
  const hasBlob = blobs.length > 0 ? `(${blobs.join(' OR ')})` : 'false';
  const spaces = Math.max(0, 2 * table.columns.length - 1);
  const byteLen = (p: string, hb: string) =>
    `(octet_length(${p}) + CASE WHEN ${hb}
        THEN 5 * (length(${p}) - length(translate(${p}, '<>&', '')))
           + 3 * (length(${p}) - length(translate(${p}, U&'\\2028\\2029', '')))
        ELSE ${spaces} END)`;
  return { payload, hasBlob, byteLen };
}
