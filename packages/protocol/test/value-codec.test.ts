import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  canonicalFloatText,
  isCanonicalDecimalString,
  isCanonicalFloatString,
  isCanonicalInt64String,
  isCanonicalUuid,
  isStandardBase64,
  validateWireValue,
  type WireFamily,
} from '../src/index.js';

const FAMILIES: WireFamily[] = [
  'integer',
  'decimal',
  'float',
  'boolean',
  'text',
  'blob',
  'uuid',
  'json',
];

describe('validateWireValue', () => {
  it.each(FAMILIES)('reports null as wrong_type for %s (nullability is the caller’s)', (family) => {
    expect(validateWireValue(family, null)).toMatchObject({ ok: false, category: 'wrong_type' });
  });

  it.each([
    ['integer', '0'],
    ['integer', '-1'],
    ['integer', '-9223372036854775808'],
    ['decimal', '0'],
    ['decimal', '-0.5'],
    ['decimal', '0.000'],
    ['decimal', '1E+3'],
    ['float', '0.1'],
    ['float', '-1e-7'],
    ['float', '1e+21'],
    ['boolean', true],
    ['boolean', false],
    ['boolean', '0'],
    ['text', ''],
    ['text', 'héllo'],
    ['blob', ''],
    ['blob', 'AAEC/w=='],
    ['uuid', '550e8400-e29b-41d4-a716-446655440000'],
    ['json', '{"a":[1,2]}'],
    ['json', 'null'],
  ] as [WireFamily, unknown][])('accepts %s %j', (family, value) => {
    expect(validateWireValue(family, value)).toEqual({ ok: true });
  });

  it.each([
    ['integer', '', 'malformed'],
    ['integer', ' 1', 'malformed'],
    ['integer', '0x10', 'malformed'],
    ['integer', '-01', 'leading_zero'],
    ['integer', '1.5e3', 'exponent'],
    ['integer', 'Infinity', 'non_finite'],
    ['integer', true, 'wrong_type'],
    ['decimal', '-0', 'negative_zero'],
    ['decimal', '-0.000', 'negative_zero'],
    ['decimal', '00', 'leading_zero'],
    ['decimal', '.5', 'malformed'],
    ['decimal', '-Infinity', 'non_finite'],
    ['decimal', '1,5', 'malformed'],
    ['float', '+1', 'noncanonical'],
    ['float', '.5', 'noncanonical'],
    ['float', '1.50', 'noncanonical'],
    ['float', '1e21', 'noncanonical'],
    ['float', '1e400', 'out_of_range'],
    ['float', '0x1p3', 'malformed'],
    ['float', '', 'malformed'],
    ['float', ' 1', 'malformed'],
    ['float', ['1'], 'wrong_type'],
    ['boolean', 1, 'legacy_json_number'],
    ['boolean', 'false', 'invalid_boolean_bridge'],
    ['boolean', {}, 'wrong_type'],
    ['text', 5, 'wrong_type'],
    ['blob', 'AAEC/w', 'malformed'],
    ['blob', 'AAEC/x==', 'malformed'],
    ['blob', 'AA-C', 'malformed'],
    ['blob', [0], 'wrong_type'],
    ['uuid', '550E8400-E29B-41D4-A716-446655440000', 'noncanonical'],
    ['uuid', '550e8400e29b41d4a716446655440000', 'noncanonical'],
    ['uuid', '{550e8400-e29b-41d4-a716-446655440000}', 'malformed'],
    ['json', '{', 'malformed'],
    ['json', { a: 1 }, 'wrong_type'],
  ] as [WireFamily, unknown, string][])('rejects %s %j as %s', (family, value, category) => {
    const result = validateWireValue(family, value);
    expect(result).toMatchObject({ ok: false, category });
    expect(result.ok === false && result.message.length > 0).toBe(true);
  });
});

describe('integer strings', () => {
  it.each([
    ['9223372036854775807', true],
    ['-9223372036854775808', true],
    ['9223372036854775808', false],
    ['-9223372036854775809', false],
    ['-0', false],
    ['007', false],
  ])('isCanonicalInt64String(%j) is %s', (s, expected) => {
    expect(isCanonicalInt64String(s)).toBe(expected);
  });

  test.prop([fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })])(
    'accepts every int64 rendered by BigInt',
    (n) => {
      expect(isCanonicalInt64String(n.toString())).toBe(true);
      expect(validateWireValue('integer', n.toString())).toEqual({ ok: true });
    },
  );
});

describe('decimal strings', () => {
  it.each([
    ['1234567890.123456789', true],
    ['-0.0e10', false],
    ['0e5', true],
    ['1.', false],
  ])('isCanonicalDecimalString(%j) is %s', (s, expected) => {
    expect(isCanonicalDecimalString(s)).toBe(expected);
  });
});

describe('float strings', () => {
  it('renders float4 values widened to binary64', () => {
    expect(canonicalFloatText(Math.fround(1.2345678901234567))).toBe('1.2345678806304932');
  });

  it('renders -0 as 0 and rejects non-finite values', () => {
    expect(canonicalFloatText(-0)).toBe('0');
    expect(() => canonicalFloatText(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalFloatText(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true })])(
    'every finite double has exactly one accepted spelling',
    (x) => {
      const text = canonicalFloatText(x);
      expect(isCanonicalFloatString(text)).toBe(true);
      expect(validateWireValue('float', text)).toEqual({ ok: true });
      expect(Number(text)).toBe(Object.is(x, -0) ? 0 : x);
      // Other spellings of the same value are rejected.
      expect(isCanonicalFloatString(`+${text}`)).toBe(false);
      if (!/[.e]/.test(text)) expect(isCanonicalFloatString(`${text}.0`)).toBe(false);
      if (text.includes('.') && !text.includes('e')) {
        expect(isCanonicalFloatString(`${text}0`)).toBe(false);
      }
    },
  );
});

describe('base64', () => {
  it('encodes the RFC 4648 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      const bytes = new TextEncoder().encode(plain);
      expect(bytesToBase64(bytes)).toBe(encoded);
      expect(base64ToBytes(encoded)).toEqual(bytes);
    }
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])('round-trips and matches Buffer', (bytes) => {
    const text = bytesToBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString('base64'));
    expect(isStandardBase64(text)).toBe(true);
    expect(base64ToBytes(text)).toEqual(bytes);
  });

  it.each(['Zg', 'Zg=', 'Zh==', 'Zm9=', 'Zm8', 'Z===', 'Zm9v\n', 'Zm9v_-==', '===='])(
    'rejects %j',
    (text) => {
      expect(isStandardBase64(text)).toBe(false);
      expect(() => base64ToBytes(text)).toThrow(TypeError);
    },
  );
});

describe('uuid', () => {
  it('accepts only lowercase dashed UUIDs', () => {
    expect(isCanonicalUuid('11111111-1111-4111-8111-111111111111')).toBe(true);
    expect(isCanonicalUuid('11111111-1111-4111-8111-11111111111A')).toBe(false);
    expect(isCanonicalUuid('11111111111141118111111111111111')).toBe(false);
  });
});
