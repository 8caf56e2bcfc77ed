import type { Queryable } from '../db/sync-database.js';
import { type Introspection, introspect } from './introspect.js';
import {
  type ColumnInfo,
  columnFamily,
  intRange,
  type RegisteredTable,
  type TableInfo,
} from './table-info.js';

const IDENT = /^[a-z0-9_]+$/;
export const SCOPE_COLUMN = '_sync_scope_id';

/**
 * Thrown by bootstrap when registered tables are outside the supported envelope.
 * Lists every violation at once, so one run tells the whole story.
 *
 * @example
 * ```ts
 * try { await service.bootstrap(); } catch (e) {
 *   if (e instanceof TableValidationError) console.error(e.violations.join('\n'));
 * }
 * ```
 */
export class TableValidationError extends Error {
  override readonly name = 'TableValidationError';
  readonly violations: readonly string[];
  constructor(violations: readonly string[]) {
    super(`registered tables are invalid:\n- ${violations.join('\n- ')}`);
    this.violations = violations;
  }
}

/** A validated table before it has a table id. */
export type ValidatedTable = Omit<TableInfo, 'tableId'>;

/**
 * Checks registered tables against the supported envelope and returns every violation
 * (empty when all are fine) plus the column catalog of the valid ones.
 */
export async function validateTables(
  q: Queryable,
  tables: readonly RegisteredTable[],
): Promise<{ violations: string[]; tables: ValidatedTable[] }> {
  const violations: string[] = [];
  const seen = new Set<string>();
  const wanted: RegisteredTable[] = [];
  for (const t of tables) {
    const name = `${t.schema}.${t.table}`;
    if (!IDENT.test(t.schema) || !IDENT.test(t.table)) {
      violations.push(`${name}: schema and table names must match ^[a-z0-9_]+$`);
      continue;
    }
    if (seen.has(name)) {
      violations.push(`${name}: registered more than once`);
      continue;
    }
    seen.add(name);
    if (typeof t.syncKeyColumn !== 'string' || !IDENT.test(t.syncKeyColumn)) {
      violations.push(
        `${name}: syncKeyColumn must be exactly one column name matching ^[a-z0-9_]+$`,
      );
      continue;
    }
    if (t.syncKeyColumn === SCOPE_COLUMN) {
      violations.push(`${name}: the sync key column may not be ${SCOPE_COLUMN}`);
      continue;
    }
    wanted.push(t);
  }
  if (tables.length === 0) violations.push('no tables are registered');
  const info = await introspect(q, wanted);
  const registered = new Set(wanted.map((t) => `${t.schema}.${t.table}`));
  const keyOf = new Map(wanted.map((t) => [`${t.schema}.${t.table}`, t.syncKeyColumn]));
  const out: ValidatedTable[] = [];
  for (const t of wanted) {
    const v = checkTable(t, info, registered, keyOf);
    violations.push(...v.violations);
    if (v.table) out.push(v.table);
  }
  return { violations, tables: out };
}

function checkTable(
  t: RegisteredTable,
  info: Introspection,
  registered: ReadonlySet<string>,
  keyOf: ReadonlyMap<string, string>,
): { violations: string[]; table?: ValidatedTable } {
  const name = `${t.schema}.${t.table}`;
  const violations: string[] = [];
  const cols = info.columns.filter((c) => c.schema === t.schema && c.table === t.table);
  if (cols.length === 0) return { violations: [`${name}: table does not exist`] };
  const scope = cols.find((c) => c.name === SCOPE_COLUMN);
  if (!scope) violations.push(`${name}: missing hidden owner column ${SCOPE_COLUMN} text NOT NULL`);
  else {
    if (scope.type !== 'text') violations.push(`${name}: ${SCOPE_COLUMN} must be of type text`);
    if (!scope.notNull) violations.push(`${name}: ${SCOPE_COLUMN} must be NOT NULL`);
  }
  const key = cols.find((c) => c.name === t.syncKeyColumn);
  if (!key) violations.push(`${name}: sync key column ${t.syncKeyColumn} does not exist`);
  else {
    if (key.type !== 'uuid' && key.type !== 'text') {
      violations.push(
        `${name}: sync key column ${t.syncKeyColumn} must be uuid or text, not ${key.type}`,
      );
    }
    if (!key.notNull)
      violations.push(`${name}: sync key column ${t.syncKeyColumn} must be NOT NULL`);
    if (key.generated)
      violations.push(`${name}: sync key column ${t.syncKeyColumn} may not be generated`);
  }
  for (const c of cols) {
    if (!IDENT.test(c.name)) violations.push(`${name}: column "${c.name}" must match ^[a-z0-9_]+$`);
  }
  const uniques = info.uniqueIndexes.filter((i) => i.schema === t.schema && i.table === t.table);
  if (uniques.length === 0) {
    violations.push(
      `${name}: needs a unique index or primary key on (${SCOPE_COLUMN}, ${t.syncKeyColumn})`,
    );
  }
  for (const u of uniques) {
    if (u.partial) violations.push(`${name}: unique index ${u.name} may not be partial`);
    if (u.expression) violations.push(`${name}: unique index ${u.name} may not use expressions`);
    if (u.columns[0] !== SCOPE_COLUMN) {
      violations.push(
        `${name}: unique index ${u.name} must start with ${SCOPE_COLUMN} (rows are unique per user)`,
      );
    }
  }
  if (
    uniques.length > 0 &&
    !uniques.some(
      (u) =>
        !u.partial &&
        !u.expression &&
        u.columns.length === 2 &&
        u.columns[0] === SCOPE_COLUMN &&
        u.columns[1] === t.syncKeyColumn,
    )
  ) {
    violations.push(
      `${name}: needs a unique index exactly on (${SCOPE_COLUMN}, ${t.syncKeyColumn})`,
    );
  }
  for (const fk of info.foreignKeys.filter((f) => f.schema === t.schema && f.table === t.table)) {
    const target = `${fk.refSchema}.${fk.refTable}`;
    const where = `${name}: foreign key ${fk.name}`;
    if (!registered.has(target)) {
      violations.push(`${where} references ${target}, which is not registered`);
      continue;
    }
    if (fk.matchType === 'f' || fk.matchType === 'p') {
      violations.push(`${where} must use MATCH SIMPLE`);
    }
    if (
      fk.columns.length !== 2 ||
      fk.columns[0] !== SCOPE_COLUMN ||
      fk.refColumns[0] !== SCOPE_COLUMN ||
      fk.refColumns[1] !== keyOf.get(target)
    ) {
      violations.push(
        `${where} must be (${SCOPE_COLUMN}, <column>) → ${target}(${SCOPE_COLUMN}, ${keyOf.get(target)})`,
      );
    }
    if (!fk.deferrable) violations.push(`${where} must be DEFERRABLE`);
    for (const [label, action] of [
      ['ON DELETE', fk.deleteAction],
      ['ON UPDATE', fk.updateAction],
    ] as const) {
      if (
        (action === 'n' || action === 'd') &&
        !(label === 'ON DELETE' && fk.deleteSetColumns.length > 0)
      ) {
        violations.push(
          `${where}: ${label} SET NULL/SET DEFAULT would also clear ${SCOPE_COLUMN}; use ON DELETE SET NULL (<column>) (PostgreSQL 15+)`,
        );
      }
    }
    if (fk.deleteSetColumns.includes(SCOPE_COLUMN)) {
      violations.push(`${where}: ON DELETE SET NULL may not list ${SCOPE_COLUMN}`);
    }
  }
  if (violations.length > 0 || !key) return { violations };
  const columns: ColumnInfo[] = cols
    .filter((c) => c.name !== SCOPE_COLUMN)
    .map((c) => {
      const range = intRange(c.type);
      return {
        name: c.name,
        type: c.type,
        family: columnFamily(c.type),
        notNull: c.notNull,
        hasDefault: c.hasDefault,
        generated: c.generated,
        ...(range ? { intRange: range } : {}),
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    violations,
    table: {
      schema: t.schema,
      table: t.table,
      keyColumn: t.syncKeyColumn,
      keyKind: key.type === 'uuid' ? 'uuid' : 'text',
      columns,
      columnsByName: new Map(columns.map((c) => [c.name, c])),
    },
  };
}

/**
 * Validates tables against the supported envelope and returns every violation.
 *
 * @example
 * ```ts
 * const problems = await checkRegisteredTables(db, [{ schema: 'business', table: 'users', syncKeyColumn: 'id' }]);
 * for (const p of problems) console.log(p);
 * ```
 */
export async function checkRegisteredTables(
  q: Queryable,
  tables: readonly RegisteredTable[],
): Promise<string[]> {
  return (await validateTables(q, tables)).violations;
}
