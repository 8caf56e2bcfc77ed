import { InvalidArgumentError } from 'commander';

/** Default data directory of `oversync dev` and `oversync token`. */
export const DEFAULT_DATA_DIR = './.oversync';
/** Default port of `oversync dev` and `oversync serve` (the reference servers' port). */
export const DEFAULT_PORT = 8080;

/** Commander parser for a TCP port (0 picks a free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('must be an integer between 0 and 65535');
  }
  return port;
}

/** Commander parser for a positive integer. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError('must be a positive integer');
  }
  return n;
}
