/**
 * Deterministic identifiers for tests.
 *
 * @module
 */

/**
 * A deterministic, canonical (lowercase, dashed, version 4 shaped) UUID for `n`.
 * `ns` separates families of ids (e.g. one per test) without collisions.
 *
 * @example uuid(1) === '00000000-0000-4000-8000-000000000001'
 */
export function uuid(n: number, ns = 0): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`uuid: bad n ${n}`);
  if (!Number.isSafeInteger(ns) || ns < 0 || ns > 0xffffffff) throw new Error(`uuid: bad ns ${ns}`);
  const a = ns.toString(16).padStart(8, '0');
  const e = n.toString(16).padStart(12, '0');
  return `${a}-0000-4000-8000-${e}`;
}

let counter = 0;
const runTag = Math.floor(Math.random() * 0xffffff)
  .toString(36)
  .padStart(5, '0');

/** A user id that no other test in this process uses: `<label>-<run>-<n>`. */
export function uniqueUser(label: string): string {
  counter += 1;
  return `${label}-${runTag}-${counter}`;
}

/** A source id unique in this process (visible ASCII). */
export function uniqueSource(label = 'src'): string {
  counter += 1;
  return `${label}-${runTag}-${counter}`;
}

/** Lowercase hex SHA-256 shape. */
export const HEX64 = /^[0-9a-f]{64}$/;

/** Canonical lowercase dashed UUID. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** RFC 3339 timestamp with a fraction of up to 9 digits and `Z` or an offset. */
export const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
