/**
 * Table contract check between a client's configured tables and the server's
 * `registered_table_specs`.
 *
 * G2 clients refuse to sync unless both sides name exactly the same tables with the same key
 * column: a table only one side knows would silently never sync.
 *
 * @module
 */

import type { TableSpec } from './messages/capabilities.js';

/**
 * A table whose sync key columns differ between client and server.
 *
 * @example
 * ```ts
 * const m: SyncKeyMismatch = {
 *   qualifiedTable: 'business.users', clientSyncKeyColumns: ['id'], serverSyncKeyColumns: ['user_id'],
 * };
 * ```
 */
export interface SyncKeyMismatch {
  qualifiedTable: string;
  clientSyncKeyColumns: string[];
  serverSyncKeyColumns: string[];
}

/**
 * Outcome of {@link compareTableSpecs}. Table lists are sorted `schema.table` names.
 *
 * @example
 * ```ts
 * const result: TableSpecComparison = { kind: 'invalid', reason: 'registered_table_specs is missing' };
 * ```
 */
export type TableSpecComparison =
  | { kind: 'match' }
  | {
      kind: 'mismatch';
      serverOnlyTables: string[];
      clientOnlyTables: string[];
      syncKeyMismatches: SyncKeyMismatch[];
    }
  | { kind: 'invalid'; reason: string };

function isNonBlankString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Validates one spec; returns a reason when it is not a well-formed single-key spec. */
function specProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'entry is not an object';
  }
  const spec = value as Record<string, unknown>;
  if (!isNonBlankString(spec.schema)) return 'schema must be a non-blank string';
  if (!isNonBlankString(spec.table)) return 'table must be a non-blank string';
  const columns = spec.sync_key_columns;
  // Exactly one key column: the protocol's structured keys are single-column in both generations.
  if (!Array.isArray(columns) || columns.length !== 1 || !isNonBlankString(columns[0])) {
    return 'sync_key_columns must hold exactly one non-blank column name';
  }
  return null;
}

/** Indexes specs by `schema.table`; returns a reason instead when the list is malformed. */
function indexSpecs(specs: readonly unknown[], side: string): Map<string, TableSpec> | string {
  const byName = new Map<string, TableSpec>();
  for (let i = 0; i < specs.length; i++) {
    const problem = specProblem(specs[i]);
    if (problem !== null) return `${side} table spec ${i}: ${problem}`;
    const spec = specs[i] as TableSpec;
    const name = `${spec.schema}.${spec.table}`;
    if (byName.has(name)) return `${side} table spec ${name} is listed more than once`;
    byName.set(name, spec);
  }
  return byName;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((column, i) => column === b[i]);
}

/**
 * Compares the client's tables with the server's advertised `registered_table_specs`.
 *
 * Names are compared exactly (the server advertises lowercase names; clients configure the same).
 * `advertised` is taken raw from the capabilities body, because a missing, `null`, malformed or
 * duplicated list must be reported as `invalid`, not as a mismatch. Throws a `TypeError` when the
 * local specs themselves are malformed, which is a configuration bug rather than a server answer.
 *
 * @example
 * ```ts
 * const result = compareTableSpecs(
 *   [{ schema: 'business', table: 'users', sync_key_columns: ['id'] }],
 *   caps.registered_table_specs,
 * );
 * if (result.kind !== 'match') throw new Error(`table contract: ${JSON.stringify(result)}`);
 * ```
 */
export function compareTableSpecs(local: TableSpec[], advertised: unknown): TableSpecComparison {
  const localByName = indexSpecs(local, 'local');
  if (typeof localByName === 'string') throw new TypeError(localByName);
  if (advertised === undefined || advertised === null) {
    return { kind: 'invalid', reason: 'registered_table_specs is missing' };
  }
  if (!Array.isArray(advertised)) {
    return { kind: 'invalid', reason: 'registered_table_specs is not an array' };
  }
  const serverByName = indexSpecs(advertised, 'advertised');
  if (typeof serverByName === 'string') return { kind: 'invalid', reason: serverByName };

  const serverOnlyTables = [...serverByName.keys()].filter((name) => !localByName.has(name)).sort();
  const clientOnlyTables = [...localByName.keys()].filter((name) => !serverByName.has(name)).sort();
  const syncKeyMismatches: SyncKeyMismatch[] = [];
  for (const name of [...localByName.keys()].sort()) {
    const client = localByName.get(name) as TableSpec;
    const server = serverByName.get(name);
    if (server !== undefined && !sameColumns(client.sync_key_columns, server.sync_key_columns)) {
      syncKeyMismatches.push({
        qualifiedTable: name,
        clientSyncKeyColumns: [...client.sync_key_columns],
        serverSyncKeyColumns: [...server.sync_key_columns],
      });
    }
  }
  if (
    serverOnlyTables.length === 0 &&
    clientOnlyTables.length === 0 &&
    syncKeyMismatches.length === 0
  ) {
    return { kind: 'match' };
  }
  return { kind: 'mismatch', serverOnlyTables, clientOnlyTables, syncKeyMismatches };
}
