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
