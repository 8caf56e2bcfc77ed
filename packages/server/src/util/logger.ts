/**
 * The logger the library accepts: pino-compatible, console-compatible, no-op by default.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createSyncService({ ..., logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** A logger that drops everything. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
