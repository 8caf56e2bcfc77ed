/**
 * The canonical JSON of G1 (go-oversync): what Go's `encoding/json` writes for a value it has
 * parsed into `any` (protocol.md §2.7).
 *
 * It is *not* RFC 8785: numbers are re-rendered from float64 but `-0` stays `-0`, HTML characters
 * and U+2028/U+2029 are escaped, and members are ordered by the UTF-8 bytes of their names. Every
 * G1 `bundle_hash` is taken over these bytes, so each rule here is byte-exact on purpose.
 *
 * @module
 */

import { JsonNumber, type LosslessValue } from './lossless-json.js';

/**
 * What {@link goCanonicalJson} accepts: a {@link LosslessValue} whose leaves may also be plain JS
 * `number`s and `bigint`s (handy when a value is built in code rather than parsed).
 *
 * @example
 * ```ts
 * const v: GoJsonValue = { id: 'u1', n: 42, big: 2n ** 60n, exact: new JsonNumber('12.3000') };
 * ```
 */
export type GoJsonValue =
  | LosslessValue
  | number
  | bigint
  | GoJsonValue[]
  | { [key: string]: GoJsonValue };

/**
 * Deepest nesting the writer follows. Parsed values are at most 512 deep and the G1 hash envelope
 * adds 2 levels; the bound also turns a cyclic value into an error instead of a stack overflow.
 */
const MAX_WRITE_DEPTH = 1000;

/** Significant digits a decimal literal may have and still be its own float64 rendering. */
const EXACT_DIGITS = 15;

/**
 * Checks the JSON number grammar and classifies the literal: -1 if it is not a JSON number,
 * 1 if it already is the text Go would write for its float64, 0 if it must be converted.
 *
 * A literal is its own rendering when it has no exponent, no trailing fractional zero, at most
 * 15 significant digits (every such decimal survives float64 and back, so the shortest
 * round-trip digits are its own: DBL_DIG = 15) and is not below 1e-6 (where Go switches to
 * exponent form). This skips `Number()`/`String()` for the common integers and short decimals.
 */
function classifyNumberLiteral(s: string): -1 | 0 | 1 {
  const len = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 0x2d) c = s.charCodeAt(++i);
  let significant: number;
  let zeroIntegerPart = false;
  if (c === 0x30) {
    zeroIntegerPart = true;
    significant = 0;
    c = s.charCodeAt(++i);
  } else if (c >= 0x31 && c <= 0x39) {
    const start = i;
    do c = s.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39);
    significant = i - start;
  } else {
    return -1;
  }
  if (i === len) return significant <= EXACT_DIGITS ? 1 : 0;
  let canonical = significant <= EXACT_DIGITS;
  if (c === 0x2e) {
    const start = i + 1;
    c = s.charCodeAt(++i);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    let leadingZeros = 0;
    if (zeroIntegerPart) {
      while (c === 0x30) c = s.charCodeAt(++i);
      leadingZeros = i - start;
    }
    while (c >= 0x30 && c <= 0x39) c = s.charCodeAt(++i);
    significant += i - start - leadingZeros;
    canonical =
      significant > 0 &&
      significant <= EXACT_DIGITS &&
      leadingZeros <= 5 &&
      s.charCodeAt(i - 1) !== 0x30;
  }
  if (c === 0x65 || c === 0x45) {
    canonical = false;
    c = s.charCodeAt(++i);
    if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++i);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    do c = s.charCodeAt(++i);
    while (c >= 0x30 && c <= 0x39);
  }
  if (i !== len) return -1;
  return canonical ? 1 : 0;
}

/**
 * Go's `encoding/json` rendering of a float64, which is ECMAScript `Number#toString` (shortest
 * round-trip digits; exponent form below 1e-6 and from 1e21, as `1e-7`, `1e+21`) except that
 * negative zero keeps its sign.
 */
function float64Text(n: number): string {
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  return String(n);
}

/**
 * The float64 rendering of a JSON number literal, exactly as Go's `encoding/json` writes the
 * `float64` it parsed from that literal.
 *
 * Go parses every number of a payload into a float64 (correctly rounded, like `Number()`) and
 * writes it back with the shortest round-trip digits: this equals ECMAScript `Number#toString`
 * except that negative zero is `-0`. Literals that already are that text (integers and plain
 * decimals of at most 15 significant digits) are returned as they are, without a conversion.
 *
 * @throws SyntaxError if `literal` is not a JSON number literal.
 * @throws RangeError if the literal overflows float64 to ±Infinity (Go rejects it too).
 *
 * @example
 * ```ts
 * goNumberText('1e21'); // '1e+21'
 * goNumberText('1e-7'); // '1e-7'
 * goNumberText('-0.0'); // '-0'
 * goNumberText('12.3000'); // '12.3'
 * goNumberText('9007199254740993'); // '9007199254740992'
 * ```
 */
export function goNumberText(literal: string): string {
  const kind = classifyNumberLiteral(literal);
  if (kind === 1) return literal;
  if (kind < 0) throw new SyntaxError(`not a JSON number literal: ${JSON.stringify(literal)}`);
  const n = Number(literal);
  if (!Number.isFinite(n)) {
    throw new RangeError(`JSON number ${literal} overflows float64`);
  }
  return float64Text(n);
}

/** Escapes of the ASCII code units Go escapes (control characters, `"`, `\`, `<`, `>`, `&`). */
const ASCII_ESCAPES: (string | undefined)[] = Array.from({ length: 0x80 }, (_, c) =>
  c < 0x20 ? `\\u00${c.toString(16).padStart(2, '0')}` : undefined,
);
ASCII_ESCAPES[0x08] = '\\b';
ASCII_ESCAPES[0x09] = '\\t';
ASCII_ESCAPES[0x0a] = '\\n';
ASCII_ESCAPES[0x0c] = '\\f';
ASCII_ESCAPES[0x0d] = '\\r';
ASCII_ESCAPES[0x22] = '\\"';
ASCII_ESCAPES[0x5c] = '\\\\';
ASCII_ESCAPES[0x3c] = '\\u003c';
ASCII_ESCAPES[0x3e] = '\\u003e';
ASCII_ESCAPES[0x26] = '\\u0026';

/** Whether code unit `c` needs attention in a string: an escape, or a surrogate to check. */
function isSpecial(c: number): boolean {
  return c < 0x80
    ? ASCII_ESCAPES[c] !== undefined
    : c >= 0x2028 && (c <= 0x2029 || (c >= 0xd800 && c <= 0xdfff));
}

/** Appends the Go rendering of string `s` (quotes included) to `out`. */
function appendString(out: string, s: string): string {
  const len = s.length;
  for (let i = 0; i < len; i++) {
    if (isSpecial(s.charCodeAt(i))) return appendStringSlow(out, s, i);
  }
  return `${out}"${s}"`;
}

/**
 * The general case of {@link appendString} from the first special code unit `i` on: copies plain
 * runs with one `slice` each. A lone surrogate is written as U+FFFD, which is what Go holds after
 * decoding the UTF-8 (or the `\ud800` escape) a JS client would send for it.
 */
function appendStringSlow(out: string, s: string, i: number): string {
  const len = s.length;
  let result = `${out}"`;
  let run = 0;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (!isSpecial(c)) continue;
    let escaped: string;
    if (c < 0x80) {
      escaped = ASCII_ESCAPES[c] as string;
    } else if (c === 0x2028) {
      escaped = '\\u2028';
    } else if (c === 0x2029) {
      escaped = '\\u2029';
    } else if (c <= 0xdbff && i + 1 < len && isLow(s.charCodeAt(i + 1))) {
      i++; // a well-formed pair stays raw
      continue;
    } else {
      escaped = '\ufffd';
    }
    result += s.slice(run, i) + escaped;
    run = i + 1;
  }
  return `${result + s.slice(run)}"`;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Whether `s` contains any surrogate code unit (a non-BMP character or a lone surrogate). */
function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * Orders strings by their UTF-8 bytes (= by code points), Go's `sort.Strings` order.
 *
 * UTF-16 code unit order agrees except where, at the first difference, one side has a surrogate
 * (a character ≥ U+10000) and the other a unit in U+E000–U+FFFF: UTF-16 puts the surrogate first,
 * UTF-8 last. Remapping units ≥ U+D800 (E000–FFFF down by 0x800, surrogates up by 0x2000) fixes
 * exactly that case.
 */
function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Objects up to this size are sorted by insertion sort, which beats the built-in sort there. */
const INSERTION_SORT_MAX = 16;

/** Sorts strings in place by UTF-16 code units (JS `<` on strings). */
function sortCodeUnits(keys: string[]): void {
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) {
    keys.sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
}

/** Replaces lone surrogates by U+FFFD (what a UTF-8 round trip does). */
function wellFormed(s: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    out += `${s.slice(run, i)}\ufffd`;
    run = i + 1;
  }
  return run === 0 ? s : out + s.slice(run);
}

/**
 * Appends the Go canonical JSON of `value` to `out` and returns the result.
 *
 * Exposed for the G1 hash envelope, which writes its fixed members itself; not part of the
 * package's public API.
 *
 * @internal
 * @example
 * ```ts
 * appendGoCanonicalJson('{"key":', { id: 'u1' }, 1); // '{"key":{"id":"u1"}'
 * ```
 */
export function appendGoCanonicalJson(out: string, value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return appendString(out, value);
    case 'object':
      if (value === null) return `${out}null`;
      if (value instanceof JsonNumber) return out + goNumberText(value.text);
      if (depth >= MAX_WRITE_DEPTH) {
        throw new TypeError(
          `Go canonical JSON: nesting deeper than ${MAX_WRITE_DEPTH} levels (or a cyclic value)`,
        );
      }
      if (Array.isArray(value)) return appendArray(out, value, depth + 1);
      return appendObject(out, value, depth + 1);
    case 'number':
      if (!Number.isFinite(value)) {
        throw new RangeError(`Go canonical JSON cannot represent the number ${String(value)}`);
      }
      return out + float64Text(value);
    case 'boolean':
      return out + (value ? 'true' : 'false');
    case 'bigint':
      return out + goNumberText(value.toString());
    default:
      throw new TypeError(`Go canonical JSON cannot represent a value of type ${typeof value}`);
  }
}

function appendArray(out: string, array: readonly unknown[], depth: number): string {
  const len = array.length;
  if (len === 0) return `${out}[]`;
  let result = `${out}[`;
  for (let i = 0; i < len; i++) {
    const item = array[i];
    if (item === undefined) {
      // JSON.stringify would print null here; a hash input must not change shape silently.
      throw new TypeError(`Go canonical JSON cannot represent undefined at array index ${i}`);
    }
    if (i > 0) result += ',';
    result = appendGoCanonicalJson(result, item, depth);
  }
  return `${result}]`;
}

function appendObject(out: string, object: object, depth: number): string {
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto !== null && proto !== Object.prototype) {
    const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
    throw new TypeError(
      `Go canonical JSON accepts only plain objects, got ${typeof name === 'string' ? name : 'an exotic object'}`,
    );
  }
  const record = object as Record<string, unknown>;
  const keys = Object.keys(record);
  const count = keys.length;
  if (count === 0) return `${out}{}`;
  for (let i = 0; i < count; i++) {
    if (hasSurrogate(keys[i] as string)) return appendObjectNonBmp(out, record, keys, depth);
  }
  // No surrogates: UTF-16 code unit order is UTF-8 byte order.
  if (count > 1) sortCodeUnits(keys);
  let result = `${out}{`;
  let first = true;
  for (let i = 0; i < count; i++) {
    const key = keys[i] as string;
    const member = record[key];
    // Skipped like JSON.stringify does, so the hash matches what a JS client would send.
    if (member === undefined) continue;
    if (first) first = false;
    else result += ',';
    result = appendGoCanonicalJson(`${appendString(result, key)}:`, member, depth);
  }
  return `${result}}`;
}

/**
 * {@link appendObject} for names containing surrogates: names are made well-formed first (lone
 * surrogates become U+FFFD, and of names that collide the one enumerated last wins, as when Go
 * parses what a JS client sends) and sorted by UTF-8 bytes.
 */
function appendObjectNonBmp(
  out: string,
  record: Record<string, unknown>,
  keys: readonly string[],
  depth: number,
): string {
  const members = new Map<string, unknown>();
  for (const key of keys) {
    const member = record[key];
    if (member !== undefined) members.set(wellFormed(key), member);
  }
  const names = [...members.keys()].sort(compareUtf8);
  let result = `${out}{`;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (i > 0) result += ',';
    result = appendGoCanonicalJson(`${appendString(result, name)}:`, members.get(name), depth);
  }
  return `${result}}`;
}

/**
 * Go canonical JSON text (protocol.md §2.7) of a value: what Go's `encoding/json` writes after
 * parsing the value's JSON into `any`.
 *
 * - no whitespace; `null`, `true`, `false` literally;
 * - numbers through float64 ({@link goNumberText}); plain `number` leaves are used as is, `bigint`
 *   leaves are rounded to float64 like Go would after parsing them;
 * - strings escape `"` `\` and `\b \f \n \r \t`, other code points below U+0020 as lowercase
 *   `\u00xx`, and `<` `>` `&` U+2028 U+2029 as `\u003c \u003e \u0026 \u2028 \u2029`; everything
 *   else (DEL, all non-ASCII) is raw; an unpaired surrogate becomes U+FFFD;
 * - object members sorted by the UTF-8 bytes of their names; `undefined` members are skipped.
 *
 * @throws TypeError for values JSON cannot hold (functions, `undefined` in an array, non-plain
 *   objects, nesting deeper than 1000 or cycles); RangeError for non-finite numbers or a literal
 *   overflowing float64; SyntaxError for a `JsonNumber` that is not a number literal.
 *
 * @example
 * ```ts
 * goCanonicalJson(parseLosslessJson('{"b":-0.0,"a":1e21,"e":"<&>"}'));
 * // '{"a":1e+21,"b":-0,"e":"\\u003c\\u0026\\u003e"}'
 * goCanonicalJson({ '\ue000': 1, '😀': 2 }); // '{"\ue000":1,"😀":2}' (UTF-8 order)
 * goCanonicalJson(9007199254740993n); // '9007199254740992'
 * ```
 */
export function goCanonicalJson(value: GoJsonValue): string {
  return appendGoCanonicalJson('', value, 0);
}

/**
 * Escapes `<`, `>`, `&`, U+2028 and U+2029 in already-serialised JSON text as Go's
 * `json.Encoder` (with its default HTML escaping) does on the HTTP wire, appending nothing.
 *
 * In valid JSON these characters can only occur inside strings, where the escape is equivalent,
 * so the text is rewritten blindly. Returns the input itself when there is nothing to escape.
 *
 * @example
 * ```ts
 * goHtmlEscape('{"id":"a<b","amount":12.3000}'); // '{"id":"a\\u003cb","amount":12.3000}'
 * ```
 */
export function goHtmlEscape(jsonText: string): string {
  let out = '';
  let run = 0;
  const len = jsonText.length;
  for (let i = 0; i < len; i++) {
    const c = jsonText.charCodeAt(i);
    let escaped: string;
    if (c === 0x3c) escaped = '\\u003c';
    else if (c === 0x3e) escaped = '\\u003e';
    else if (c === 0x26) escaped = '\\u0026';
    else if (c === 0x2028) escaped = '\\u2028';
    else if (c === 0x2029) escaped = '\\u2029';
    else continue;
    out += jsonText.slice(run, i) + escaped;
    run = i + 1;
  }
  return run === 0 ? jsonText : out + jsonText.slice(run);
}
