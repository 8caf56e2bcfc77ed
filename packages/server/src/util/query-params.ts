import { type ErrorCode, SyncError } from '@oversync/protocol';

const DIGITS = /^(0|[1-9][0-9]{0,18})$/;
const INT64_MAX = 9223372036854775807n;

/**
 * Reads a non-negative integer query parameter exactly (as bigint); an empty value counts
 * as absent. Anything else is a 400 with the given code.
 */
export function readIntParam(
  params: URLSearchParams,
  name: string,
  code: ErrorCode,
  options: { min?: bigint; max?: bigint } = {},
): bigint | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!DIGITS.test(raw) || BigInt(raw) > INT64_MAX) {
    throw new SyncError(code, `${name} must be a non-negative integer`);
  }
  const v = BigInt(raw);
  if (options.min !== undefined && v < options.min)
    throw new SyncError(code, `${name} must be at least ${options.min}`);
  if (options.max !== undefined && v > options.max)
    throw new SyncError(code, `${name} must be at most ${options.max}`);
  return v;
}
