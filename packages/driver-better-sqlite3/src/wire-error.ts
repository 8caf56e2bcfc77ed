/**
 * Errors across the worker boundary. Structured clone keeps an error's message but drops own
 * properties such as better-sqlite3's `code`, so errors cross as a plain {@link WireError}.
 *
 * @module
 */

import Database from 'better-sqlite3';

/**
 * An error as it crosses the thread boundary.
 *
 * @example
 * ```ts
 * const wire: WireError = { name: 'SqliteError', message: 'X', code: 'SQLITE_CONSTRAINT_TRIGGER' };
 * ```
 */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/**
 * Captures what matters of a thrown value: name, message, SQLite `code` and the worker stack.
 *
 * @example
 * ```ts
 * port.postMessage({ id, ok: false, error: toWireError(error) });
 * ```
 */
export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
}

/**
 * Rebuilds an `Error` on the calling side. SQLite errors come back as better-sqlite3
 * `SqliteError`s with their `code`, exactly as in-thread mode throws them; `TypeError` and
 * `RangeError` (bad parameters) keep their class. The stack is the worker's, which is where the
 * statement failed.
 *
 * @example
 * ```ts
 * if (!response.ok) pending.reject(fromWireError(response.error));
 * ```
 */
export function fromWireError(wire: WireError): Error {
  let error: Error & { code?: string };
  if (wire.name === 'SqliteError' && wire.code !== undefined) {
    error = new Database.SqliteError(wire.message, wire.code);
  } else {
    const Ctor =
      wire.name === 'TypeError' ? TypeError : wire.name === 'RangeError' ? RangeError : Error;
    error = new Ctor(wire.message);
    if (error.name !== wire.name) error.name = wire.name;
    if (wire.code !== undefined) error.code = wire.code;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}
