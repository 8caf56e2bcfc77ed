/**
 * A strict JSON parser that keeps every number as its literal source text.
 *
 * G1 (go-oversync) hashes are computed over values *as Go parses them*, and `JSON.parse` already
 * loses information Go keeps in places (and vice versa): an int8 column above 2^53 must stay exact
 * until the moment it is deliberately pushed through float64 by the canonicaliser, and a payload
 * relayed verbatim must not be re-spelled. So numbers stay text here ({@link JsonNumber}) and the
 * float64 step is taken only where G1 takes it (`goNumberText`).
 *
 * @module
 */

/**
 * A JSON number kept as its literal source text (it never passes through a JS `number`).
 *
 * The constructor does not validate `text`; `goNumberText` does, when the value is serialised.
 *
 * @example
 * ```ts
 * const n = new JsonNumber('9007199254740993');
 * n.text; // '9007199254740993' (exact, unlike Number('9007199254740993'))
 * ```
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/**
 * A parsed JSON value with numbers kept as {@link JsonNumber}.
 *
 * Objects produced by {@link parseLosslessJson} have a `null` prototype, so a member named
 * `__proto__` or `constructor` is an ordinary own member and lookups of absent members never
 * reach `Object.prototype`.
 *
 * @example
 * ```ts
 * const v: LosslessValue = { id: 'u1', n: new JsonNumber('12.3000'), tags: ['a', null, true] };
 * ```
 */
export type LosslessValue =
  | null
  | boolean
  | string
  | JsonNumber
  | LosslessValue[]
  | { [key: string]: LosslessValue };

/**
 * Options of {@link parseLosslessJson}.
 *
 * @example
 * ```ts
 * const options: LosslessJsonParseOptions = { duplicates: 'reject' };
 * ```
 */
export interface LosslessJsonParseOptions {
  /**
   * What to do with a repeated object member name: `'last'` (default, Go `encoding/json`
   * semantics) keeps the last value, `'reject'` throws a `SyntaxError`.
   */
  duplicates?: 'last' | 'reject';
}

/** Deepest array/object nesting accepted; recursion is bounded by it, so hostile input cannot overflow the stack. */
const MAX_DEPTH = 512;

/** Code units. */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const REPLACEMENT = '\ufffd';

/** Values of the single-character escapes (`\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t`), by code unit. */
const SIMPLE_ESCAPES: (string | undefined)[] = [];
SIMPLE_ESCAPES[0x22] = '"';
SIMPLE_ESCAPES[0x5c] = '\\';
SIMPLE_ESCAPES[0x2f] = '/';
SIMPLE_ESCAPES[0x62] = '\b';
SIMPLE_ESCAPES[0x66] = '\f';
SIMPLE_ESCAPES[0x6e] = '\n';
SIMPLE_ESCAPES[0x72] = '\r';
SIMPLE_ESCAPES[0x74] = '\t';

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Value of one hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Recursive-descent parser over the UTF-16 code units of the input.
 *
 * Every step advances `pos` or fails, and every string is copied at most once (plain strings are
 * a single `slice`), so the work is linear in the input length.
 */
class Parser {
  pos = 0;
  private readonly src: string;
  private readonly rejectDuplicates: boolean;

  constructor(src: string, rejectDuplicates: boolean) {
    this.src = src;
    this.rejectDuplicates = rejectDuplicates;
  }

  fail(message: string): never {
    throw new SyntaxError(`Invalid JSON: ${message} at position ${this.pos}`);
  }

  /** Skips the four RFC 8259 whitespace characters and returns the next code unit (NaN at end). */
  skipWhitespace(): number {
    const src = this.src;
    let pos = this.pos;
    let c = src.charCodeAt(pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = src.charCodeAt(++pos);
    this.pos = pos;
    return c;
  }

  parseValue(depth: number): LosslessValue {
    const c = this.skipWhitespace();
    switch (c) {
      case QUOTE:
        return this.parseString();
      case 0x7b: // {
        return this.parseObject(depth + 1);
      case 0x5b: // [
        return this.parseArray(depth + 1);
      case 0x74: // t
        return this.parseLiteral('true', true);
      case 0x66: // f
        return this.parseLiteral('false', false);
      case 0x6e: // n
        return this.parseLiteral('null', null);
      default:
        if (c === MINUS || (c >= ZERO && c <= NINE)) return this.parseNumber();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  parseLiteral<T extends LosslessValue>(word: string, value: T): T {
    if (!this.src.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return value;
  }

  /** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text. */
  parseNumber(): JsonNumber {
    const src = this.src;
    const start = this.pos;
    let pos = start;
    let c = src.charCodeAt(pos);
    if (c === MINUS) c = src.charCodeAt(++pos);
    if (c === ZERO) {
      c = src.charCodeAt(++pos);
    } else if (c > ZERO && c <= NINE) {
      do c = src.charCodeAt(++pos);
      while (c >= ZERO && c <= NINE);
    } else {
      this.pos = pos;
      this.fail('expected a digit');
    }
    if (c === DOT) {
      c = src.charCodeAt(++pos);
      if (!(c >= ZERO && c <= NINE)) {
        this.pos = pos;
        this.fail('expected a digit after the decimal point');
      }
      do c = src.charCodeAt(++pos);
      while (c >= ZERO && c <= NINE);
    }
    if (c === LOWER_E || c === UPPER_E) {
      c = src.charCodeAt(++pos);
      if (c === PLUS || c === MINUS) c = src.charCodeAt(++pos);
      if (!(c >= ZERO && c <= NINE)) {
        this.pos = pos;
        this.fail('expected a digit in the exponent');
      }
      do c = src.charCodeAt(++pos);
      while (c >= ZERO && c <= NINE);
    }
    this.pos = pos;
    return new JsonNumber(src.slice(start, pos));
  }

  /** Parses the string starting at the opening quote at `pos`. */
  parseString(): string {
    const src = this.src;
    const len = src.length;
    const start = this.pos + 1;
    // Fast path: no escape, no control character, no surrogate -> one slice.
    for (let pos = start; pos < len; pos++) {
      const c = src.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return src.slice(start, pos);
      }
      if (c === BACKSLASH || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) {
        return this.parseStringSlow(start, pos);
      }
    }
    this.pos = len;
    return this.fail('unterminated string');
  }

  /**
   * The general string case, entered at `pos` (the first special code unit) with
   * `src[start, pos)` plain.
   *
   * Surrogates follow Go, which decodes the UTF-8 bytes it was sent: a `\uXXXX` escape of a
   * surrogate combines only with an immediately following escaped partner, anything unpaired
   * (escaped or raw) becomes U+FFFD, and an unpaired escape does not consume the escape after it.
   */
  parseStringSlow(start: number, pos: number): string {
    const src = this.src;
    const len = src.length;
    let out = '';
    let run = start;
    while (pos < len) {
      const c = src.charCodeAt(pos);
      if (c === QUOTE) {
        this.pos = pos + 1;
        return out + src.slice(run, pos);
      }
      if (c < 0x20) {
        this.pos = pos;
        this.fail('control character in string');
      }
      if (c === BACKSLASH) {
        out += src.slice(run, pos);
        const e = src.charCodeAt(pos + 1);
        if (e === 0x75) {
          // \u
          const unit = this.hex4(pos + 2);
          pos += 6;
          if (unit >= 0xd800 && unit <= 0xdfff) {
            const next =
              isHighSurrogate(unit) &&
              src.charCodeAt(pos) === BACKSLASH &&
              src.charCodeAt(pos + 1) === 0x75
                ? this.hex4(pos + 2)
                : -1;
            if (isLowSurrogate(next)) {
              out += String.fromCharCode(unit, next);
              pos += 6;
            } else {
              out += REPLACEMENT;
            }
          } else {
            out += String.fromCharCode(unit);
          }
        } else {
          const simple = SIMPLE_ESCAPES[e];
          if (simple === undefined) {
            this.pos = pos;
            this.fail(Number.isNaN(e) ? 'unterminated string' : 'invalid escape');
          }
          out += simple;
          pos += 2;
        }
        run = pos;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        // A raw surrogate: keep a well-formed pair, replace a lone one as UTF-8 encoding would.
        if (isHighSurrogate(c) && isLowSurrogate(src.charCodeAt(pos + 1))) {
          pos += 2;
        } else {
          out += src.slice(run, pos) + REPLACEMENT;
          pos++;
          run = pos;
        }
        continue;
      }
      pos++;
    }
    this.pos = len;
    return this.fail('unterminated string');
  }

  /** The code unit spelled by the four hex digits at `at`. */
  hex4(at: number): number {
    const src = this.src;
    const a = hexDigit(src.charCodeAt(at));
    const b = hexDigit(src.charCodeAt(at + 1));
    const c = hexDigit(src.charCodeAt(at + 2));
    const d = hexDigit(src.charCodeAt(at + 3));
    if ((a | b | c | d) < 0) {
      this.pos = at;
      this.fail('invalid \\u escape');
    }
    return (a << 12) | (b << 8) | (c << 4) | d;
  }

  parseArray(depth: number): LosslessValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.pos++;
    const array: LosslessValue[] = [];
    if (this.skipWhitespace() === 0x5d) {
      this.pos++;
      return array;
    }
    for (;;) {
      array.push(this.parseValue(depth));
      const c = this.skipWhitespace();
      this.pos++;
      if (c === 0x2c) continue; // ,  (a following ']' fails in parseValue: no trailing comma)
      if (c === 0x5d) return array; // ]
      this.pos--;
      this.fail("expected ',' or ']'");
    }
  }

  parseObject(depth: number): { [key: string]: LosslessValue } {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.pos++;
    // Null prototype: "__proto__" is stored as an ordinary member, never as the prototype.
    const object = Object.create(null) as { [key: string]: LosslessValue };
    let c = this.skipWhitespace();
    if (c === 0x7d) {
      this.pos++;
      return object;
    }
    for (;;) {
      if (c !== QUOTE) this.fail('expected a member name');
      const memberStart = this.pos;
      const key = this.parseString();
      if (this.skipWhitespace() !== 0x3a) this.fail("expected ':'");
      this.pos++;
      const value = this.parseValue(depth);
      if (this.rejectDuplicates && key in object) {
        this.pos = memberStart;
        this.fail(`duplicate member ${JSON.stringify(key)}`);
      }
      object[key] = value;
      c = this.skipWhitespace();
      this.pos++;
      if (c === 0x2c) {
        c = this.skipWhitespace();
        continue;
      }
      if (c === 0x7d) return object;
      this.pos--;
      this.fail("expected ',' or '}'");
    }
  }
}

/**
 * Parses JSON text (RFC 8259, strictly) keeping every number as a {@link JsonNumber}.
 *
 * Strict means: exactly one value, no trailing commas, no comments, whitespace only space, tab,
 * CR and LF, no raw control characters in strings. Objects have a `null` prototype, so
 * `"__proto__"` is an ordinary member. Duplicate member names keep the last value (Go
 * semantics) unless `duplicates: 'reject'`. Unpaired surrogates, escaped (`"\ud800"`) or raw,
 * become U+FFFD, as Go decodes them. Nesting deeper than 512 arrays/objects is rejected so that
 * hostile input cannot exhaust the stack; parsing is linear in the input length.
 *
 * @throws SyntaxError on malformed input, too deep nesting, or (with `'reject'`) a duplicate.
 *
 * @example
 * ```ts
 * const v = parseLosslessJson('{"big":9007199254740993,"x":[1.50,"a"]}');
 * // v.big is JsonNumber { text: '9007199254740993' }, v.x[0] is JsonNumber { text: '1.50' }
 * parseLosslessJson('{"a":1,"a":2}'); // { a: JsonNumber { text: '2' } }
 * parseLosslessJson('{"a":1,"a":2}', { duplicates: 'reject' }); // throws SyntaxError
 * ```
 */
export function parseLosslessJson(text: string, options?: LosslessJsonParseOptions): LosslessValue {
  const parser = new Parser(text, options?.duplicates === 'reject');
  const value = parser.parseValue(0);
  if (!Number.isNaN(parser.skipWhitespace())) parser.fail('unexpected data after the value');
  return value;
}
