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

/**
 * One member of a stored payload: a column name, then a string, `true`, `false` or `null`
 * (the only value forms the stored form has), then `,` or `}`.
 */
const MEMBER = /"([a-z0-9_]+)":("(?:[^"\\]|\\.)*"|true|false|null)([,}])/y;
const HTML = /[<>&\u2028\u2029]/;
const HTML_ALL = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * The hot path of {@link g1BundlePayload} (every pulled row goes through it): the stored text
 * is already canonical JSON whose member order and string escaping equal Go's except for
 * `<` `>` `&` U+2028/9, so members are copied as text and only number, timestamptz and json
 * members are rewritten. Returns undefined for anything unexpected (then the general path runs).
 */
function g1BundlePayloadFast(table: TableInfo, stored: string): string | undefined {
  if (stored.charCodeAt(0) !== 123 /* { */) return undefined;
  if (stored === '{}') return stored;
  MEMBER.lastIndex = 1;
  let out = '{';
  let end = 1;
  for (;;) {
    const m = MEMBER.exec(stored);
    if (!m) return undefined;
    const name = m[1] as string;
    let value = m[2] as string;
    const column = table.columnsByName.get(name);
    if (column && value.charCodeAt(0) === 34 /* " */) {
      switch (column.family) {
        case 'integer':
        case 'decimal':
        case 'float': {
          const text = value.slice(1, -1);
          value = JSON_NUMBER.test(text) ? goNumberText(text) : value;
          break;
        }
        case 'timestamptz':
          if (value.endsWith('Z"') && UTC_INSTANT.test(value.slice(1, -1))) {
            value = `${value.slice(0, -2)}+00:00"`;
          }
          break;
        case 'json':
          return undefined;
        default:
          break;
      }
    }
    out += `"${name}":${value}${m[3]}`;
    end = MEMBER.lastIndex;
    if (m[3] === '}') break;
  }
  if (end !== stored.length) return undefined;
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
