import type { TableInfo } from './table-info.js';

/** The registered tables by id and by `schema.table`, fixed after bootstrap. */
export class Catalog {
  readonly tables: readonly TableInfo[];
  readonly #byId = new Map<number, TableInfo>();
  readonly #byName = new Map<string, TableInfo>();

  constructor(tables: readonly TableInfo[]) {
    this.tables = [...tables].sort((a, b) => (qname(a) < qname(b) ? -1 : 1));
    for (const t of tables) {
      this.#byId.set(t.tableId, t);
      this.#byName.set(qname(t), t);
    }
  }

  /** Table by id; throws for an unknown id (a broken invariant, not user input). */
  byId(id: number): TableInfo {
    const t = this.#byId.get(id);
    if (!t) throw new Error(`unknown table id ${id}`);
    return t;
  }

  /** Table by schema and name, or undefined. */
  byName(schema: string, table: string): TableInfo | undefined {
    return this.#byName.get(`${schema}.${table}`);
  }
}

/** `schema.table`. */
export function qname(t: { schema: string; table: string }): string {
  return `${t.schema}.${t.table}`;
}
