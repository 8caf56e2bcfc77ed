import { goCanonicalJson, goNumberText, parseLosslessJson } from '@oversync/protocol';
import type { ColumnInfo, TableInfo } from '../bootstrap/table-info.js';

const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const UTC_INSTANT = /^(\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z$/;

/** A Go-escaped JSON string literal (`<`, `>`, `&`, U+2028/9 as `\u` escapes). */
export function goString(value: string): string {
  return goCanonicalJson(value);
}

/**
 * One stored (G2 canonical) value as G1 renders it in bundle rows: numbers become JSON
 * numbers re-rendered through float64 — exactly what go-oversync puts into its bundle log
 * and hashes, and what the Go client parses — and `timestamptz` takes PostgreSQL's
 * `to_jsonb` spelling (`+00:00`, the server session runs in UTC).
 */
function g1BundleValue(column: ColumnInfo | undefined, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'string') return goCanonicalJson(JSON.stringify(value));
  switch (column?.family) {
    case 'integer':
    case 'decimal':
    case 'float':
      // NaN and ±Infinity have no JSON number; PostgreSQL's to_jsonb spells them as strings.
      return JSON_NUMBER.test(value) ? goNumberText(value) : goString(value);
    case 'timestamptz': {
      const m = UTC_INSTANT.exec(value);
      return goString(m ? `${m[1]}+00:00` : value);
    }
    case 'json':
      try {
        return goCanonicalJson(parseLosslessJson(value));
      } catch {
        return goString(value);
      }
    default:
      return goString(value);
  }
}

/**
 * Renders a stored payload (G2 canonical JSON text: members sorted, numbers as strings) as
 * the G1 bundle payload: Go canonical JSON with float64 numbers. The result is both the wire
 * form and the hash form, as in go-oversync's bundle log.
 *
 * @example
 * ```ts
 * g1BundlePayload(table, '{"count":"42","id":"a"}'); // '{"count":42,"id":"a"}'
 * ```
 */
export function g1BundlePayload(table: TableInfo, stored: string): string {
  return g1BundlePayloadFast(table, stored) ?? g1BundlePayloadSlow(table, stored);
}

const HTML = /[<>&\u2028\u2029]/;
const HTML_ALL = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** Per table: a rewriter of the number and timestamptz members of a stored payload. */
interface Rewriter {
  /** Matches `{"name":"value"` / `,"name":"value"` for the columns that need a rewrite. */
  pattern: RegExp | undefined;
  families: ReadonlyMap<string, string>;
}
const rewriters = new WeakMap<TableInfo, Rewriter | null>();

function rewriterOf(table: TableInfo): Rewriter | null {
  let r = rewriters.get(table);
  if (r !== undefined) return r;
  const families = new Map<string, string>();
  let json = false;
  for (const c of table.columns) {
    if (c.family === 'json') json = true;
    if (['integer', 'decimal', 'float', 'timestamptz'].includes(c.family))
      families.set(c.name, c.family);
  }
  // Column names are [a-z0-9_]+: safe inside a pattern as they are.
  const names = [...families.keys()].join('|');
  r = json
    ? null
    : {
        pattern: names ? new RegExp(`([{,]")(${names})":"([^"\\\\]*)"`, 'g') : undefined,
        families,
      };
  rewriters.set(table, r);
  return r;
}

/**
 * The hot path of {@link g1BundlePayload} (every pulled row goes through it). The stored text
 * is canonical JSON whose member order and string escaping equal Go's except for `<` `>` `&`
 * U+2028/9, and whose numbers and instants are strings; so only the members of number and
 * timestamptz columns are rewritten, by one native regex pass, then HTML characters are
 * escaped. A member name can only match at a structural position: inside a string every `"`
 * is preceded by a backslash. Tables with json columns take the general path.
 */
function g1BundlePayloadFast(table: TableInfo, stored: string): string | undefined {
  const r = rewriterOf(table);
  if (r === null) return undefined;
  let out = stored;
  if (r.pattern) {
    out = stored.replace(r.pattern, (m: string, head: string, name: string, value: string) => {
      if (r.families.get(name) === 'timestamptz') {
        return UTC_INSTANT.test(value) ? `${head}${name}":"${value.slice(0, -1)}+00:00"` : m;
      }
      return JSON_NUMBER.test(value) ? `${head}${name}":${goNumberText(value)}` : m;
    });
  }
  return HTML.test(out) ? out.replace(HTML_ALL, (c) => HTML_ESCAPES[c] as string) : out;
}

/** The general path of {@link g1BundlePayload} (parses the stored text; exported for tests). */
export function g1BundlePayloadSlow(table: TableInfo, stored: string): string {
  const obj = JSON.parse(stored) as Record<string, unknown>;
  // Column names are [a-z0-9_]+, so code-unit order is UTF-8 byte order; sorting explicitly
  // also undoes JS's hoisting of integer-like member names.
  const names = Object.keys(obj).sort();
  let out = '{';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (i > 0) out += ',';
    out += `${goString(name)}:${g1BundleValue(table.columnsByName.get(name), obj[name])}`;
  }
  return `${out}}`;
}

/**
 * Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros, none when zero.
 *
 * @example
 * ```ts
 * goTimeText(new Date('2026-03-22T12:15:00.500Z')); // '2026-03-22T12:15:00.5Z'
 * ```
 */
export function goTimeText(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}
