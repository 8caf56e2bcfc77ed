import { type ErrorCode, isSyncError, SyncError } from '@oversync/protocol';
import { sqlState } from '../db/sync-database.js';

const CLIENT_CLASSES = ['22', '23', '54'];

/**
 * Turns a database error caused by the submitted data (constraint, type, range or an
 * application trigger's RAISE) into a 4xx with details; other errors pass through.
 *
 * Why: a client can always provoke these with valid-looking rows, so they are answers,
 * not server faults.
 */
export function mapBusinessError(err: unknown, code: ErrorCode): unknown {
  if (isSyncError(err)) return err;
  const state = sqlState(err);
  if (!state) return err;
  if (CLIENT_CLASSES.includes(state.slice(0, 2)) || state === 'P0001' || state === 'OVS02') {
    const e = err as {
      message?: string;
      constraint?: string;
      table?: string;
      column?: string;
      detail?: string;
    };
    const extra: Record<string, unknown> = { sqlstate: state };
    if (e.constraint) extra.constraint = e.constraint;
    if (e.table) extra.table = e.table;
    if (e.column) extra.column = e.column;
    return new SyncError(code, `rejected by the database: ${e.message ?? state}`, {
      extra,
      cause: err,
    });
  }
  return err;
}
