import type { Queryable } from '../db/sync-database.js';

/** A column as PostgreSQL describes it. */
export interface DbColumn {
  schema: string;
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  generated: boolean;
}

/** A unique index as PostgreSQL describes it. */
export interface DbUniqueIndex {
  schema: string;
  table: string;
  name: string;
  partial: boolean;
  expression: boolean;
  columns: string[];
}

/** A foreign key as PostgreSQL describes it. */
export interface DbForeignKey {
  schema: string;
  table: string;
  name: string;
  refSchema: string;
  refTable: string;
  columns: string[];
  refColumns: string[];
  deferrable: boolean;
  matchType: string;
  deleteAction: string;
  updateAction: string;
  deleteSetColumns: string[];
}

/** Everything bootstrap needs to know about the registered tables, in three queries. */
export interface Introspection {
  columns: DbColumn[];
  uniqueIndexes: DbUniqueIndex[];
  foreignKeys: DbForeignKey[];
}

const TABLES_CTE = `WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(s, t))`;

/** Reads columns, unique indexes and foreign keys of the given tables from pg_catalog. */
export async function introspect(
  q: Queryable,
  tables: readonly { schema: string; table: string }[],
): Promise<Introspection> {
  const params = [tables.map((t) => t.schema), tables.map((t) => t.table)];
  const columns = await q.query<DbColumn>(
    `${TABLES_CTE}
     SELECT n.nspname AS schema, c.relname AS "table", a.attname AS name,
            COALESCE(bt.typname, t.typname)::text AS type,
            a.attnotnull AS "notNull", a.atthasdef AS "hasDefault", (a.attgenerated <> '') AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN wanted w ON w.s = n.nspname AND w.t = c.relname
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
      WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
      ORDER BY n.nspname, c.relname, a.attnum`,
    params,
  );
  const uniqueIndexes = await q.query<DbUniqueIndex>(
    `${TABLES_CTE}
     SELECT n.nspname AS schema, c.relname AS "table", ic.relname AS name,
            (i.indpred IS NOT NULL) AS partial, (i.indexprs IS NOT NULL) AS expression,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN wanted w ON w.s = n.nspname AND w.t = c.relname
      WHERE i.indisunique
      ORDER BY 1, 2, 3`,
    params,
  );
  const foreignKeys = await q.query<DbForeignKey>(
    `${TABLES_CTE}
     SELECT n.nspname AS schema, c.relname AS "table", con.conname AS name,
            fn.nspname AS "refSchema", fc.relname AS "refTable",
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS "refColumns",
            con.condeferrable AS deferrable, con.confmatchtype::text AS "matchType",
            con.confdeltype::text AS "deleteAction", con.confupdtype::text AS "updateAction",
            ARRAY(SELECT a.attname::text FROM unnest(COALESCE(con.confdelsetcols, '{}'::int2[])) AS k(attnum)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS "deleteSetColumns"
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN wanted w ON w.s = n.nspname AND w.t = c.relname
       JOIN pg_class fc ON fc.oid = con.confrelid
       JOIN pg_namespace fn ON fn.oid = fc.relnamespace
      WHERE con.contype = 'f'
      ORDER BY 1, 2, 3`,
    params,
  );
  return {
    columns: columns.rows,
    uniqueIndexes: uniqueIndexes.rows,
    foreignKeys: foreignKeys.rows,
  };
}
