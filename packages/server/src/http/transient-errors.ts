import { sqlState } from '../db/sync-database.js';

const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '57'];
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '57014']);
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * True when a failure is the database being unreachable, overloaded or restarting (or a
 * serialization conflict that outlived its retries): the request may succeed if repeated,
 * so it is answered `503 service_unavailable` with `Retry-After` — clients retry 503.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const state = sqlState(err);
  if (
    state &&
    (TRANSIENT_SQLSTATES.has(state) || TRANSIENT_SQLSTATE_CLASSES.includes(state.slice(0, 2)))
  ) {
    return true;
  }
  if (state && TRANSIENT_NODE_CODES.has(state)) return true;
  const message = (err as { message?: unknown } | null)?.message;
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  );
}
