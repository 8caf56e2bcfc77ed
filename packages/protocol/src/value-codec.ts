/**
 * The G2 "uniform numeric strings" value codec: how one column value looks on the wire.
 *
 * INTEGER and REAL values travel as canonical strings because JSON numbers lose int64 precision
 * in JavaScript and Dart; exact decimals stay strings; blobs are standard base64. Every check here
 * runs before any mutation, so a rejected value never reaches the database.
 *
 * @module
 */

import { jsonNumberText } from './canonical-json.js';

/**
 * Wire value families; each column maps to exactly one.
 *
 * @example
 * ```ts
 * const family: WireFamily = 'integer';
 * ```
 */
export type WireFamily =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'boolean'
  | 'text'
  | 'blob'
  | 'uuid'
  | 'json';

/**
 * Why a wire value was rejected. The first eleven are the categories of the shared fixture
 * `canonical-json/jcs-uniform-numeric-strings.json`; `wrong_type` covers other JSON types.
 *
 * @example
 * ```ts
 * const category: WireValueCategory = 'leading_zero';
 * ```
 */
export type WireValueCategory =
  | 'leading_plus'
  | 'leading_zero'
  | 'negative_zero'
  | 'fraction'
  | 'exponent'
  | 'out_of_range'
  | 'legacy_json_number'
  | 'malformed'
  | 'non_finite'
  | 'noncanonical'
  | 'invalid_boolean_bridge'
  | 'wrong_type';

/**
 * Result of {@link validateWireValue}.
 *
 * @example
 * ```ts
 * const result: WireValueValidation = { ok: false, category: 'fraction', message: '...' };
 * ```
 */
export type WireValueValidation =
  | { ok: true }
  | { ok: false; category: WireValueCategory; message: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const CANONICAL_INTEGER = /^-?(0|[1-9][0-9]*)$/;
const CANONICAL_DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
/** Decimal syntax that tolerates leading zeros, used only to tell `leading_zero` from `malformed`. */
const LAX_DECIMAL = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
/** Anything `Number()` reads as a plain decimal literal; rejects hex, blanks and `Infinity`. */
const NUMERIC_LITERAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const NON_FINITE = new Set(['NaN', 'Infinity', '-Infinity', '+Infinity', '+NaN', '-NaN']);
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_CASE_UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  Array.from(BASE64_ALPHABET, (c, i) => [c, i]),
);

/**
 * True for a canonical signed 64-bit decimal: no sign but `-`, no leading zeros, no `-0`, in range.
 *
 * @example
 * ```ts
 * isCanonicalInt64String('9223372036854775807'); // true
 * isCanonicalInt64String('01'); // false
 * ```
 */
export function isCanonicalInt64String(s: string): boolean {
  if (!CANONICAL_INTEGER.test(s) || s === '-0') return false;
  const n = BigInt(s);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/**
 * True for an exact-decimal string the server accepts: optional `-`, no leading zeros, optional
 * fraction and exponent, and not a negative zero (`-0`, `-0.00e5`).
 *
 * @example
 * ```ts
 * isCanonicalDecimalString('1.25e3'); // true
 * isCanonicalDecimalString('-0.0'); // false
 * ```
 */
export function isCanonicalDecimalString(s: string): boolean {
  return CANONICAL_DECIMAL.test(s) && !isNegativeZeroDecimal(s);
}

/**
 * True when `s` is exactly the ECMAScript rendering of a finite binary64 value, i.e.
 * `canonicalFloatText(Number(s)) === s`.
 *
 * @example
 * ```ts
 * isCanonicalFloatString('5e-324'); // true
 * isCanonicalFloatString('1.0'); // false
 * ```
 */
export function isCanonicalFloatString(s: string): boolean {
  if (!NUMERIC_LITERAL.test(s)) return false;
  const x = Number(s);
  return Number.isFinite(x) && jsonNumberText(x) === s;
}

/**
 * Canonical wire text of a REAL value: ECMAScript shortest round-trip form, `-0` as `"0"`.
 *
 * A float4 column must be widened first (`Math.fround`) so the text names the stored value.
 * Throws a `TypeError` for `NaN` and infinities, which have no wire form.
 *
 * @example
 * ```ts
 * canonicalFloatText(1); // '1'
 * canonicalFloatText(Math.fround(1.2345678901234567)); // '1.2345678806304932'
 * ```
 */
export function canonicalFloatText(x: number): string {
  return jsonNumberText(x);
}

/**
 * True for RFC 4648 standard base64 with padding that decodes and re-encodes to the same text
 * (so the unused low bits of the last symbol are zero). `''` is the empty blob.
 *
 * @example
 * ```ts
 * isStandardBase64('AAEC/w=='); // true
 * isStandardBase64('AAEC/x=='); // false: non-zero padding bits
 * ```
 */
export function isStandardBase64(s: string): boolean {
  if (!BASE64_SHAPE.test(s)) return false;
  if (s.endsWith('==')) return ((BASE64_INDEX[s.charAt(s.length - 3)] as number) & 0x0f) === 0;
  if (s.endsWith('=')) return ((BASE64_INDEX[s.charAt(s.length - 2)] as number) & 0x03) === 0;
  return true;
}

/**
 * True for a UUID in canonical lowercase dashed form (36 characters).
 *
 * @example
 * ```ts
 * isCanonicalUuid('550e8400-e29b-41d4-a716-446655440000'); // true
 * isCanonicalUuid('550E8400-E29B-41D4-A716-446655440000'); // false
 * ```
 */
export function isCanonicalUuid(s: string): boolean {
  return CANONICAL_UUID.test(s);
}

/**
 * Decodes strict standard base64 (see {@link isStandardBase64}); throws a `TypeError` otherwise.
 *
 * @example
 * ```ts
 * base64ToBytes('AAEC/w=='); // Uint8Array [0, 1, 2, 255]
 * ```
 */
export function base64ToBytes(s: string): Uint8Array {
  if (!isStandardBase64(s)) throw new TypeError('value is not canonical standard base64');
  const padding = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((s.length / 4) * 3 - padding);
  let out = 0;
  for (let i = 0; i < s.length; i += 4) {
    const a = BASE64_INDEX[s.charAt(i)] as number;
    const b = BASE64_INDEX[s.charAt(i + 1)] as number;
    const c = BASE64_INDEX[s.charAt(i + 2)] ?? 0;
    const d = BASE64_INDEX[s.charAt(i + 3)] ?? 0;
    const triple = (a << 18) | (b << 12) | (c << 6) | d;
    bytes[out++] = triple >> 16;
    if (out < bytes.length) bytes[out++] = (triple >> 8) & 0xff;
    if (out < bytes.length) bytes[out++] = triple & 0xff;
  }
  return bytes;
}

/**
 * Encodes bytes as standard base64 with padding, without `Buffer` so it runs anywhere.
 *
 * @example
 * ```ts
 * bytesToBase64(new Uint8Array([0, 1, 2, 255])); // 'AAEC/w=='
 * ```
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const triple =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    parts.push(
      BASE64_ALPHABET.charAt(triple >> 18),
      BASE64_ALPHABET.charAt((triple >> 12) & 63),
      BASE64_ALPHABET.charAt((triple >> 6) & 63),
      BASE64_ALPHABET.charAt(triple & 63),
    );
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const a = bytes[i] as number;
    parts.push(BASE64_ALPHABET.charAt(a >> 2), BASE64_ALPHABET.charAt((a & 3) << 4), '==');
  } else if (rest === 2) {
    const a = bytes[i] as number;
    const b = bytes[i + 1] as number;
    parts.push(
      BASE64_ALPHABET.charAt(a >> 2),
      BASE64_ALPHABET.charAt(((a & 3) << 4) | (b >> 4)),
      BASE64_ALPHABET.charAt((b & 15) << 2),
      '=',
    );
  }
  return parts.join('');
}

/**
 * Checks one non-null wire value against its column family.
 *
 * `null` is reported as `wrong_type`: nullability belongs to the column, so callers test for
 * `null` before asking about the family.
 *
 * @example
 * ```ts
 * validateWireValue('integer', '42'); // { ok: true }
 * validateWireValue('integer', 42); // { ok: false, category: 'legacy_json_number', ... }
 * validateWireValue('float', '1.0'); // { ok: false, category: 'noncanonical', ... }
 * ```
 */
export function validateWireValue(family: WireFamily, value: unknown): WireValueValidation {
  switch (family) {
    case 'integer':
      return typeof value === 'string' ? validateInteger(value) : notAString(family, value, true);
    case 'decimal':
      return typeof value === 'string' ? validateDecimal(value) : notAString(family, value, true);
    case 'float':
      return typeof value === 'string' ? validateFloat(value) : notAString(family, value, true);
    case 'boolean':
      return validateBoolean(value);
    case 'text':
      return typeof value === 'string' ? OK : notAString(family, value, false);
    case 'blob':
      if (typeof value !== 'string') return notAString(family, value, false);
      return isStandardBase64(value)
        ? OK
        : fail('malformed', 'blob value must be standard padded base64 that round-trips exactly');
    case 'uuid':
      return typeof value === 'string' ? validateUuid(value) : notAString(family, value, false);
    case 'json':
      return typeof value === 'string' ? validateJsonText(value) : notAString(family, value, false);
  }
}

const OK: WireValueValidation = Object.freeze({ ok: true });

function fail(category: WireValueCategory, message: string): WireValueValidation {
  return { ok: false, category, message };
}

function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function notAString(family: WireFamily, value: unknown, numeric: boolean): WireValueValidation {
  if (numeric && typeof value === 'number') {
    return fail(
      'legacy_json_number',
      `${family} value must be a canonical JSON string, not a JSON number`,
    );
  }
  return fail('wrong_type', `${family} value must be a JSON string, got ${jsonTypeName(value)}`);
}

function isNegativeZeroDecimal(s: string): boolean {
  if (!s.startsWith('-')) return false;
  const mantissa = s.slice(1).split(/[eE]/)[0] ?? '';
  return /^[0.]*$/.test(mantissa);
}

function validateInteger(s: string): WireValueValidation {
  if (s.startsWith('+')) return fail('leading_plus', 'integer value must not have a leading +');
  if (NON_FINITE.has(s)) return fail('non_finite', `integer value ${s} is not finite`);
  if (LAX_DECIMAL.test(s)) {
    if (/[eE]/.test(s)) return fail('exponent', 'integer value must not use an exponent');
    if (s.includes('.')) return fail('fraction', 'integer value must not have a fraction');
    if (s === '-0') return fail('negative_zero', 'integer value must not be -0');
    if (!CANONICAL_INTEGER.test(s)) {
      return fail('leading_zero', 'integer value must not have leading zeros');
    }
    const n = BigInt(s);
    if (n < INT64_MIN || n > INT64_MAX) {
      return fail('out_of_range', `integer value ${s} is outside the signed 64-bit range`);
    }
    return OK;
  }
  return fail('malformed', 'integer value must be a canonical signed 64-bit decimal string');
}

function validateDecimal(s: string): WireValueValidation {
  if (s.startsWith('+')) return fail('leading_plus', 'decimal value must not have a leading +');
  if (NON_FINITE.has(s)) return fail('non_finite', `decimal value ${s} is not finite`);
  if (!CANONICAL_DECIMAL.test(s)) {
    return LAX_DECIMAL.test(s)
      ? fail('leading_zero', 'decimal value must not have leading zeros')
      : fail('malformed', 'decimal value must be a decimal number string');
  }
  if (isNegativeZeroDecimal(s)) return fail('negative_zero', 'decimal value must not be -0');
  return OK;
}

function validateFloat(s: string): WireValueValidation {
  if (NON_FINITE.has(s)) return fail('non_finite', `float value ${s} is not finite`);
  if (!NUMERIC_LITERAL.test(s)) return fail('malformed', 'float value must be a number string');
  const x = Number(s);
  if (!Number.isFinite(x)) {
    return fail('out_of_range', `float value ${s} is outside the binary64 range`);
  }
  const canonical = jsonNumberText(x);
  if (canonical !== s) {
    return fail('noncanonical', `float value must be spelled ${canonical}, got ${s}`);
  }
  return OK;
}

function validateBoolean(value: unknown): WireValueValidation {
  if (typeof value === 'boolean' || value === '0' || value === '1') return OK;
  if (typeof value === 'string') {
    return fail('invalid_boolean_bridge', 'boolean value must be true, false, "0" or "1"');
  }
  if (typeof value === 'number') {
    return fail(
      'legacy_json_number',
      'boolean value must be true, false, "0" or "1", not a number',
    );
  }
  return fail(
    'wrong_type',
    `boolean value must be a boolean or string, got ${jsonTypeName(value)}`,
  );
}

function validateUuid(s: string): WireValueValidation {
  if (CANONICAL_UUID.test(s)) return OK;
  if (ANY_CASE_UUID.test(s)) {
    return fail('noncanonical', 'uuid value must use canonical dashed lowercase UUID text');
  }
  return fail('malformed', 'uuid value must be a dashed lowercase UUID');
}

function validateJsonText(s: string): WireValueValidation {
  try {
    JSON.parse(s);
    return OK;
  } catch {
    return fail('malformed', 'json value must be a string containing valid JSON text');
  }
}
