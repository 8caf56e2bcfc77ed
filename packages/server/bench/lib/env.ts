/** Benchmark knobs from the environment. */

/** A positive integer from `process.env[name]`, or `fallback` when unset or empty. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  return n;
}
