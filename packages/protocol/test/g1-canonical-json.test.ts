import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type G1HashRow,
  g1BundleHash,
  g1BundleHashInput,
  goCanonicalJson,
  goHtmlEscape,
  goNumberText,
  JsonNumber,
  type LosslessValue,
  parseLosslessJson,
} from '../src/index.js';

/** protocol.md §2.8 test vectors, verbatim (computed by running the Go functions). */
const VECTORS_JSON = String.raw`
{
  "v1_single_insert": {
    "rows": [{"schema":"business","table":"users","key":{"id":"550e8400-e29b-41d4-a716-446655440000"},"op":"INSERT","row_version":143,
              "payload":{"id":"550e8400-e29b-41d4-a716-446655440000","name":"John Doe","email":"john@example.com"}}],
    "canonical": "[{\"key\":{\"id\":\"550e8400-e29b-41d4-a716-446655440000\"},\"op\":\"INSERT\",\"payload\":{\"email\":\"john@example.com\",\"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"name\":\"John Doe\"},\"row_ordinal\":0,\"row_version\":143,\"schema\":\"business\",\"table\":\"users\"}]",
    "byte_count": 240,
    "bundle_hash": "0ab2b08d01bb7da478119a608463e98fe6ce37ee7cdf4b63d1dc4d5894c81f28"
  },
  "v2_mixed": {
    "rows": [
      {"schema":"business","table":"posts","key":{"id":"p-1"},"op":"UPDATE","row_version":7,
       "payload":{"id":"p-1","title":"<b>Tom & Jerry</b>","body":"café \u2028 line","score":1.5,"views":42,"big":9007199254740993,"flag":true,"note":null,"blob":"AAEC/w==","meta":{"z":1,"a":[1,"x",false]}}},
      {"schema":"business","table":"users","key":{"id":"u-2"},"op":"DELETE","row_version":7}],
    "canonical": "[{\"key\":{\"id\":\"p-1\"},\"op\":\"UPDATE\",\"payload\":{\"big\":9007199254740992,\"blob\":\"AAEC/w==\",\"body\":\"café \\u2028 line\",\"flag\":true,\"id\":\"p-1\",\"meta\":{\"a\":[1,\"x\",false],\"z\":1},\"note\":null,\"score\":1.5,\"title\":\"\\u003cb\\u003eTom \\u0026 Jerry\\u003c/b\\u003e\",\"views\":42},\"row_ordinal\":0,\"row_version\":7,\"schema\":\"business\",\"table\":\"posts\"},{\"key\":{\"id\":\"u-2\"},\"op\":\"DELETE\",\"payload\":null,\"row_ordinal\":1,\"row_version\":7,\"schema\":\"business\",\"table\":\"users\"}]",
    "byte_count": 447,
    "bundle_hash": "baa8335bff8007462c5698a2be4262e7bcd4616f99f1b74c4096a37737f217c1"
  },
  "canonicalize_examples": {
    "input":  "{\"b\":-0.0,\"a\":1e21,\"c\":1e-7,\"d\":9007199254740993,\"e\":\"<&>\\u2028\\b\\f\\u0001\",\"f\":12.3000}",
    "output": "{\"a\":1e+21,\"b\":-0,\"c\":1e-7,\"d\":9007199254740992,\"e\":\"\\u003c\\u0026\\u003e\\u2028\\b\\f\\u0001\",\"f\":12.3}"
  }
}
`;

/** The vector file read with the parser under test (for `rows`) and with JSON.parse (for the expectations). */
const vectors = JSON.parse(VECTORS_JSON) as {
  [name in 'v1_single_insert' | 'v2_mixed']: {
    canonical: string;
    byte_count: number;
    bundle_hash: string;
  };
} & { canonicalize_examples: { input: string; output: string } };
const losslessVectors = parseLosslessJson(VECTORS_JSON) as Record<
  string,
  Record<string, LosslessValue>
>;

/** Builds hash rows from a vector's `rows`, the way a G1 client rebuilds them from the wire. */
function vectorRows(name: 'v1_single_insert' | 'v2_mixed'): G1HashRow[] {
  const rows = losslessVectors[name]?.rows as Record<string, LosslessValue>[];
  return rows.map((row) => ({
    schema: row.schema as string,
    table: row.table as string,
    key: row.key as Record<string, string>,
    op: row.op as G1HashRow['op'],
    rowVersion: (row.row_version as JsonNumber).text,
    payload: row.payload ?? null,
  }));
}

/** The synchronous digest a server computes with node:crypto over the hash input. */
function nodeBundleHash(rows: readonly G1HashRow[]): { bundleHash: string; byteCount: number } {
  const input = g1BundleHashInput(rows);
  return {
    bundleHash: createHash('sha256').update(input, 'utf8').digest('hex'),
    byteCount: Buffer.byteLength(input, 'utf8'),
  };
}

describe('protocol.md §2.8 vectors', () => {
  describe.each(['v1_single_insert', 'v2_mixed'] as const)('%s', (name) => {
    const expected = vectors[name];

    it('builds the canonical text byte for byte', () => {
      expect(g1BundleHashInput(vectorRows(name))).toBe(expected.canonical);
    });

    it('has the byte_count and bundle_hash through node:crypto', () => {
      expect(nodeBundleHash(vectorRows(name))).toEqual({
        bundleHash: expected.bundle_hash,
        byteCount: expected.byte_count,
      });
    });

    it('has the byte_count and bundle_hash through Web Crypto (g1BundleHash)', async () => {
      expect(await g1BundleHash(vectorRows(name))).toEqual({
        bundleHash: expected.bundle_hash,
        byteCount: expected.byte_count,
      });
    });

    it('hashes the same with bigint row versions', () => {
      const rows = vectorRows(name).map((row) => ({ ...row, rowVersion: BigInt(row.rowVersion) }));
      expect(g1BundleHashInput(rows)).toBe(expected.canonical);
    });
  });

  it('canonicalize_examples: goCanonicalJson(parseLosslessJson(input)) is the output', () => {
    const { input, output } = vectors.canonicalize_examples;
    expect(goCanonicalJson(parseLosslessJson(input))).toBe(output);
  });
});

describe('goNumberText', () => {
  it.each([
    ['1e21', '1e+21'],
    ['1e-7', '1e-7'],
    ['-0.0', '-0'],
    ['-0', '-0'],
    ['0', '0'],
    ['0.0e5', '0'],
    ['9007199254740993', '9007199254740992'],
    ['9007199254740992', '9007199254740992'],
    ['-9007199254740993', '-9007199254740992'],
    ['12.3000', '12.3'],
    ['143', '143'],
    ['143.0', '143'],
    ['1.5e-10', '1.5e-10'],
    ['0.000001', '0.000001'],
    ['0.0000001', '1e-7'],
    ['123456789012345680000', '123456789012345680000'],
    ['123456789012345678901', '123456789012345680000'],
    ['999999999999999999999', '1e+21'],
    ['1E2', '100'],
    ['100e-2', '1'],
    ['1.7976931348623157e308', '1.7976931348623157e+308'],
    ['5e-324', '5e-324'],
    ['1e-400', '0'],
    ['-1e-400', '-0'],
    ['123456789012345', '123456789012345'],
    ['1234567890123456789', '1234567890123456800'],
  ])('%s -> %s', (literal, expected) => {
    expect(goNumberText(literal)).toBe(expected);
  });

  it.each(['1e400', '-1e400', `1${'0'.repeat(400)}`])('%s overflows: RangeError', (literal) => {
    expect(() => goNumberText(literal)).toThrow(RangeError);
  });

  it.each([
    '',
    ' 1',
    '1 ',
    '+1',
    '01',
    '-01',
    '1.',
    '.5',
    '1e',
    '1e+',
    '-',
    '0x10',
    '0b1',
    'Infinity',
    'NaN',
    '1_000',
  ])('%j is not a JSON number: SyntaxError', (literal) => {
    expect(() => goNumberText(literal)).toThrow(SyntaxError);
  });

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true })])(
    'is Number#toString (with -0 kept) for any float64, whatever its spelling',
    (d) => {
      const expected = Object.is(d, -0) ? '-0' : String(d);
      expect(goNumberText(String(d))).toBe(Object.is(d, -0) ? '0' : expected);
      expect(goNumberText(Object.is(d, -0) ? '-0' : d.toExponential(20))).toBe(expected);
      expect(goCanonicalJson(d)).toBe(expected);
    },
  );

  const digits = (minLength: number, maxLength: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });
  const literal = fc
    .record({
      sign: fc.constantFrom('', '-'),
      int: fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 22))),
      frac: fc.option(digits(1, 22), { nil: undefined }),
      exp: fc.option(
        fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 3)),
        {
          nil: undefined,
        },
      ),
    })
    .map(
      ({ sign, int, frac, exp }) =>
        `${sign}${typeof int === 'string' ? int : int.join('')}${frac === undefined ? '' : `.${frac}`}${exp === undefined ? '' : exp.join('')}`,
    );

  test.prop([literal])(
    'agrees with Number() then Number#toString (-0 kept) on any literal',
    (lit) => {
      const n = Number(lit);
      if (!Number.isFinite(n)) {
        expect(() => goNumberText(lit)).toThrow(RangeError);
        return;
      }
      expect(goNumberText(lit)).toBe(Object.is(n, -0) ? '-0' : String(n));
    },
  );

  test.prop([fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })])(
    'renders bigint leaves through float64',
    (n) => {
      const d = Number(n);
      expect(goCanonicalJson(n)).toBe(String(d));
      expect(goCanonicalJson([n])).toBe(`[${String(d)}]`);
    },
  );
});

describe('goCanonicalJson strings', () => {
  const shortEscapes: Record<number, string> = {
    8: '\\b',
    9: '\\t',
    10: '\\n',
    12: '\\f',
    13: '\\r',
  };

  it.each(Array.from({ length: 0x20 }, (_, c) => c))('escapes control character %i', (c) => {
    const expected = shortEscapes[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
    expect(goCanonicalJson(`a${String.fromCharCode(c)}b`)).toBe(`"a${expected}b"`);
    expect(goCanonicalJson(String.fromCharCode(c))).toBe(`"${expected}"`);
  });

  it('writes \\u00xx with lowercase hex', () => {
    expect(goCanonicalJson('\u000b\u001a\u001f')).toBe('"\\u000b\\u001a\\u001f"');
  });

  it.each([
    ['<', '\\u003c'],
    ['>', '\\u003e'],
    ['&', '\\u0026'],
    ['\u2028', '\\u2028'],
    ['\u2029', '\\u2029'],
    ['"', '\\"'],
    ['\\', '\\\\'],
  ])('escapes %j as %s', (char, expected) => {
    expect(goCanonicalJson(`x${char}y${char}`)).toBe(`"x${expected}y${expected}"`);
  });

  it.each([
    ['DEL', '\u007f'],
    ['slash', '/'],
    ['Latin-1', 'café'],
    ['euro', '€'],
    ['BOM', '\ufeff'],
    ['U+2027 and U+202A', '\u2027\u202a'],
    ['U+E000 and U+FFFF', '\ue000\uffff'],
    ['emoji', '😀'],
    ['supplementary private use', '\u{10ffff}'],
  ])('writes %s raw', (_, text) => {
    expect(goCanonicalJson(text)).toBe(`"${text}"`);
  });

  it('escapes member names like strings', () => {
    expect(goCanonicalJson({ '<k>': '&', 'a\nb': 1 })).toBe(
      '{"\\u003ck\\u003e":"\\u0026","a\\nb":1}',
    );
  });

  it('writes an unpaired surrogate as U+FFFD, as Go holds it after decoding', () => {
    expect(goCanonicalJson('a\ud800b')).toBe('"a\ufffdb"');
    expect(goCanonicalJson('\udc00')).toBe('"\ufffd"');
    expect(goCanonicalJson('\ud83d\ude00\ud83d')).toBe('"😀\ufffd"');
    expect(goCanonicalJson('<\ud800>')).toBe('"\\u003c\ufffd\\u003e"');
  });
});

describe('goCanonicalJson member order', () => {
  const utf8Order = (keys: string[]) =>
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

  it('orders by UTF-8 bytes: U+E000-U+FFFF before supplementary-plane characters', () => {
    const keys = ['\u{1f600}', '\uffff', 'a', '\u{10000}', '\ue000', '\ud7ff', 'é'];
    const value = Object.fromEntries(keys.map((k, i) => [k, i]));
    const expectedOrder = ['a', 'é', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}'];
    expect(utf8Order(keys)).toEqual(expectedOrder);
    // UTF-16 order (JS default sort, RFC 8785) puts the surrogate pairs first: the case that differs.
    expect([...keys].sort()).not.toEqual(expectedOrder);
    const text = goCanonicalJson(value);
    expect(Object.keys(JSON.parse(text))).toEqual(expectedOrder);
    expect(text).toBe(`{${expectedOrder.map((k) => `"${k}":${keys.indexOf(k)}`).join(',')}}`);
  });

  it('orders a shared prefix by the first differing character', () => {
    expect(goCanonicalJson({ 'x\u{10000}': 1, 'x\ue000': 2, x: 3, 'x\ue000a': 4 })).toBe(
      '{"x":3,"x\ue000":2,"x\ue000a":4,"x\u{10000}":1}',
    );
  });

  it('orders BMP names by code unit, integer-like names included', () => {
    expect(goCanonicalJson({ b: 1, 10: 2, 9: 3, a: 4, B: 5, '': 6 })).toBe(
      '{"":6,"10":2,"9":3,"B":5,"a":4,"b":1}',
    );
  });

  test.prop([fc.dictionary(fc.string({ unit: 'binary', maxLength: 4 }), fc.nat())])(
    'matches a byte-wise sort of the well-formed names',
    (record) => {
      // Compared as text: JSON.parse would move integer-like names first.
      expect(goCanonicalJson(record)).toBe(referenceGoCanonical(record));
    },
  );

  test.prop([
    fc.dictionary(fc.string({ unit: 'grapheme-ascii', maxLength: 6 }), fc.nat(), {
      minKeys: 17,
      maxKeys: 80,
    }),
  ])('sorts large objects (past the insertion-sort cut-off) the same way', (record) => {
    expect(goCanonicalJson(record)).toBe(referenceGoCanonical(record));
  });
});

describe('goCanonicalJson values', () => {
  it('writes literals, arrays and nested objects compactly', () => {
    expect(goCanonicalJson([null, true, false, [], {}, [{ b: [1, 'x'], a: null }]])).toBe(
      '[null,true,false,[],{},[{"a":null,"b":[1,"x"]}]]',
    );
  });

  it('accepts JsonNumber, number and bigint leaves', () => {
    expect(goCanonicalJson({ a: new JsonNumber('12.3000'), b: -0, c: 2n ** 53n + 1n })).toBe(
      '{"a":12.3,"b":-0,"c":9007199254740992}',
    );
  });

  it('skips undefined members like JSON.stringify', () => {
    expect(goCanonicalJson({ a: undefined, b: 1 } as unknown as LosslessValue)).toBe('{"b":1}');
  });

  it('accepts null-prototype objects and a "__proto__" member', () => {
    const record = Object.create(null) as Record<string, LosslessValue>;
    // On a null-prototype object, a plain assignment creates an own member.
    Reflect.set(record, '__proto__', 'x');
    record.a = true;
    expect(goCanonicalJson(record)).toBe('{"__proto__":"x","a":true}');
  });

  it.each([
    ['NaN', Number.NaN, RangeError],
    ['Infinity', Number.POSITIVE_INFINITY, RangeError],
    ['an overflowing JsonNumber', new JsonNumber('1e400'), RangeError],
    ['a JsonNumber that is not a number', new JsonNumber('0x1'), SyntaxError],
    ['undefined', undefined, TypeError],
    ['a function', () => 1, TypeError],
    ['a symbol', Symbol('s'), TypeError],
    ['a Date', new Date(0), TypeError],
    ['a Map', new Map(), TypeError],
    ['a Uint8Array', new Uint8Array(1), TypeError],
    ['undefined in an array', [1, undefined], TypeError],
    ['a hole in an array', Object.assign([1], { 2: 2 }), TypeError],
  ])('rejects %s', (_, value, error) => {
    expect(() => goCanonicalJson(value as LosslessValue)).toThrow(error);
  });

  it('rejects a cyclic value with a TypeError, not a stack overflow', () => {
    const cyclic: LosslessValue[] = [];
    cyclic.push(cyclic);
    expect(() => goCanonicalJson(cyclic)).toThrow(TypeError);
  });
});

describe('goHtmlEscape', () => {
  it('escapes like Go json.Encoder on the wire', () => {
    expect(goHtmlEscape('{"id":"a<b","amount":12.3000}')).toBe(
      '{"id":"a\\u003cb","amount":12.3000}',
    );
    expect(goHtmlEscape('["<>&\u2028\u2029",1]')).toBe('["\\u003c\\u003e\\u0026\\u2028\\u2029",1]');
  });

  it('returns text without those characters unchanged', () => {
    const text = '{"a":"é\\u003c\\n","b":[1.50,null]}';
    expect(goHtmlEscape(text)).toBe(text);
    expect(goHtmlEscape('')).toBe('');
  });

  test.prop([fc.jsonValue({ stringUnit: 'binary' })])(
    'turns JSON.stringify into the same text Go would send, still parsing to the same value',
    (v) => {
      const text = JSON.stringify(v);
      const escaped = goHtmlEscape(text);
      expect(escaped).not.toMatch(/[<>&\u2028\u2029]/);
      expect(JSON.parse(escaped)).toEqual(JSON.parse(text));
    },
  );
});

describe('parseLosslessJson', () => {
  it('keeps numbers as their literal text', () => {
    const v = parseLosslessJson(
      '[123456789012345678901234567890,-0.0,1E+2,12.3000,9007199254740993,-1e-400]',
    ) as JsonNumber[];
    expect(v.map((n) => n.text)).toEqual([
      '123456789012345678901234567890',
      '-0.0',
      '1E+2',
      '12.3000',
      '9007199254740993',
      '-1e-400',
    ]);
    expect(v.every((n) => n instanceof JsonNumber)).toBe(true);
  });

  it('parses literals, strings and whitespace (space, tab, CR, LF)', () => {
    expect(
      parseLosslessJson(' \t\r\n{ "a" : [ true , false , null , "x" , { } , [ ] ] }\n'),
    ).toEqual({ a: [true, false, null, 'x', {}, []] });
    expect(parseLosslessJson('"top"')).toBe('top');
    expect(parseLosslessJson('null')).toBeNull();
  });

  it('decodes every escape', () => {
    expect(parseLosslessJson(String.raw`"\"\\\/\b\f\n\r\t\u00e9\u00E9\u20AC\ud83d\ude00"`)).toBe(
      '"\\/\b\f\n\r\téé€😀',
    );
  });

  it('creates null-prototype objects', () => {
    const v = parseLosslessJson('{"a":{}}') as Record<string, LosslessValue>;
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.getPrototypeOf(v.a)).toBeNull();
    expect((v as Record<string, unknown>).constructor).toBeUndefined();
  });

  it('keeps "__proto__" as an ordinary member', () => {
    const v = parseLosslessJson('{"__proto__":{"polluted":true},"a":1}') as Record<
      string,
      LosslessValue
    >;
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(goCanonicalJson(v)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('keeps the last duplicate member by default (Go semantics)', () => {
    const text = '{"a":1,"b":{"c":1,"c":[2]},"a":3}';
    expect(goCanonicalJson(parseLosslessJson(text))).toBe('{"a":3,"b":{"c":[2]}}');
    expect(goCanonicalJson(parseLosslessJson(text, { duplicates: 'last' }))).toBe(
      '{"a":3,"b":{"c":[2]}}',
    );
  });

  it.each([
    '{"a":1,"a":1}',
    '{"b":{"c":1,"c":2}}',
    '{"__proto__":1,"__proto__":2}',
    '{"\\u0061":1,"a":2}',
    '{"\\ud800":1,"\\udc00":2}',
  ])("rejects duplicates in %s with duplicates: 'reject'", (text) => {
    expect(() => parseLosslessJson(text, { duplicates: 'reject' })).toThrow(SyntaxError);
  });

  it("accepts equal names in different objects with duplicates: 'reject'", () => {
    expect(
      goCanonicalJson(parseLosslessJson('[{"a":1},{"a":2,"b":{"a":3}}]', { duplicates: 'reject' })),
    ).toBe('[{"a":1},{"a":2,"b":{"a":3}}]');
  });

  it.each([
    ['escaped high surrogate', String.raw`"\ud800"`, '\ufffd'],
    ['escaped low surrogate', String.raw`"\udc00"`, '\ufffd'],
    ['high surrogate then text', String.raw`"\ud800x"`, '\ufffdx'],
    ['high surrogate then a non-surrogate escape', String.raw`"\ud800\u0041"`, '\ufffdA'],
    ['two high surrogates then a low one', String.raw`"\ud800\ud800\udc00"`, '\ufffd\u{10000}'],
    ['reversed pair', String.raw`"\udc00\ud800"`, '\ufffd\ufffd'],
    ['escaped high, raw low', '"\\ud800\udc00"', '\ufffd\ufffd'],
    ['raw high, escaped low', '"\ud800\\udc00"', '\ufffd\ufffd'],
    ['raw lone high surrogate', '"a\ud800b"', 'a\ufffdb'],
    ['raw lone low surrogate', '"\udc00"', '\ufffd'],
    ['raw pair', '"\ud83d\ude00"', '😀'],
    ['escaped pair', String.raw`"\ud83d\ude00"`, '😀'],
  ])('%s: %s', (_, text, expected) => {
    expect(parseLosslessJson(text)).toBe(expected);
  });

  it('replaces lone surrogates in member names too', () => {
    expect(Object.keys(parseLosslessJson(String.raw`{"\ud800":1}`) as object)).toEqual(['\ufffd']);
  });

  it.each([
    ['empty input', ''],
    ['only whitespace', ' \n'],
    ['trailing comma in an array', '[1,]'],
    ['trailing comma in an object', '{"a":1,}'],
    ['leading comma', '[,1]'],
    ['missing comma', '[1 2]'],
    ['leading zero', '01'],
    ['negative leading zero', '-01'],
    ['leading zero in an array', '[01]'],
    ['no digit after the point', '1.'],
    ['no digit before the point', '.5'],
    ['plus sign', '+1'],
    ['lone minus', '-'],
    ['empty exponent', '1e'],
    ['signed empty exponent', '1e+'],
    ['hex number', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['-Infinity', '-Infinity'],
    ['unterminated string', '"abc'],
    ['unterminated string after an escape', '"abc\\'],
    ['raw control character in a string', '"a\u0001b"'],
    ['raw newline in a string', '"a\nb"'],
    ['raw tab in a string', '"a\tb"'],
    ['invalid escape', '"\\x"'],
    ['short \\u escape', '"\\u12"'],
    ['non-hex \\u escape', '"\\u12G4"'],
    ['single quotes', "'a'"],
    ['unquoted name', '{a:1}'],
    ['missing colon', '{"a" 1}'],
    ['non-string name', '{1:1}'],
    ['unclosed array', '[1'],
    ['unclosed object', '{"a":1'],
    ['bare open bracket', '['],
    ['two values', '1 2'],
    ['trailing garbage', '{}x'],
    ['block comment', '/* c */ 1'],
    ['line comment', '1 // c'],
    ['truncated literal', 'tru'],
    ['capitalised literal', 'True'],
    ['form feed as whitespace', '\f1'],
    ['vertical tab as whitespace', '\u000b1'],
    ['no-break space as whitespace', '\u00a01'],
    ['byte order mark', '\ufeff1'],
  ])('rejects %s with a SyntaxError', (_, text) => {
    expect(() => parseLosslessJson(text)).toThrow(SyntaxError);
  });

  it('accepts 512 levels of nesting and rejects 513 with a SyntaxError', () => {
    expect(parseLosslessJson(`${'['.repeat(512)}${']'.repeat(512)}`)).toBeInstanceOf(Array);
    expect(() => parseLosslessJson(`${'['.repeat(513)}${']'.repeat(513)}`)).toThrow(SyntaxError);
    const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    expect(goCanonicalJson(parseLosslessJson(objects(512)))).toBe(objects(512));
    expect(() => parseLosslessJson(objects(513))).toThrow(SyntaxError);
  });

  it.each([
    ['arrays', '['.repeat(100_000)],
    ['objects', '{"a":'.repeat(100_000)],
    ['mixed', '[{"a":'.repeat(50_000)],
  ])('rejects 100000 open %s with a SyntaxError, not a stack overflow', (_, text) => {
    expect(() => parseLosslessJson(text)).toThrow(SyntaxError);
  });

  it('parses large escape-heavy input', () => {
    const n = 200_000;
    const text = `["${'\\u00e9\\n<'.repeat(n)}",${'1,'.repeat(n)}2]`;
    const v = parseLosslessJson(text) as LosslessValue[];
    expect(v).toHaveLength(n + 2);
    expect((v[0] as string).length).toBe(3 * n);
  });
});

/** Lone surrogates become U+FFFD: what a UTF-8 round trip (and Go's decoder) does. */
function wellFormed(s: string): string {
  return s.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
}

/** A deliberately naive Go-canonical-JSON reference over JSON.parse output. */
function referenceGoCanonical(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') {
    return JSON.stringify(wellFormed(v)).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (Array.isArray(v)) return `[${v.map(referenceGoCanonical).join(',')}]`;
  const members = new Map<string, unknown>();
  for (const [k, x] of Object.entries(v as object)) members.set(wellFormed(k), x);
  const names = [...members.keys()].sort((a, b) =>
    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')),
  );
  return `{${names.map((k) => `${referenceGoCanonical(k)}:${referenceGoCanonical(members.get(k))}`).join(',')}}`;
}

/** JsonNumber -> number, objects -> plain objects; for comparing with JSON.parse. */
function toPlain(v: LosslessValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(out, k, { value: toPlain(x), enumerable: true, writable: true });
    }
    return out;
  }
  return v;
}

/** JSON.parse output with lone surrogates replaced (last colliding member wins, as in Go). */
function normalise(v: unknown): unknown {
  if (typeof v === 'string') return wellFormed(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(out, wellFormed(k), {
        value: normalise(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

describe('properties', () => {
  const json = fc.jsonValue({ stringUnit: 'binary', maxDepth: 5 });

  test.prop([json])('goCanonicalJson(parseLosslessJson(text)) matches the reference', (v) => {
    const text = JSON.stringify(v);
    const expected = referenceGoCanonical(JSON.parse(text));
    expect(goCanonicalJson(parseLosslessJson(text))).toBe(expected);
    expect(goCanonicalJson(parseLosslessJson(JSON.stringify(v, null, '\t\r\n ')))).toBe(expected);
  });

  test.prop([json])('parseLosslessJson round-trips structure', (v) => {
    const text = JSON.stringify(v);
    expect(toPlain(parseLosslessJson(text))).toEqual(normalise(JSON.parse(text)));
  });

  test.prop([json])('is idempotent: the canonical text re-canonicalises to itself', (v) => {
    const once = goCanonicalJson(parseLosslessJson(JSON.stringify(v)));
    expect(goCanonicalJson(parseLosslessJson(once))).toBe(once);
  });

  test.prop([fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })])(
    'reaches the same hash input from parsed and from plain payloads',
    (name, value) => {
      const payload = { [name]: value, n: 1.5 };
      const row = (p: LosslessValue): G1HashRow => ({
        schema: 's',
        table: 't',
        key: { id: value },
        op: 'UPDATE',
        rowVersion: 1n,
        payload: p,
      });
      expect(g1BundleHashInput([row(parseLosslessJson(JSON.stringify(payload)))])).toBe(
        g1BundleHashInput([row(payload as unknown as LosslessValue)]),
      );
    },
  );
});

describe('g1BundleHashInput', () => {
  const base: G1HashRow = {
    schema: 'business',
    table: 'users',
    key: { id: 'u-1' },
    op: 'INSERT',
    rowVersion: '5',
    payload: parseLosslessJson('{"z":1,"a":"<x>"}'),
  };

  it('writes the envelope in UTF-8 member order with numeric ordinal and version', () => {
    expect(g1BundleHashInput([base, { ...base, op: 'DELETE', payload: null }])).toBe(
      '[{"key":{"id":"u-1"},"op":"INSERT","payload":{"a":"\\u003cx\\u003e","z":1},"row_ordinal":0,"row_version":5,"schema":"business","table":"users"},' +
        '{"key":{"id":"u-1"},"op":"DELETE","payload":null,"row_ordinal":1,"row_version":5,"schema":"business","table":"users"}]',
    );
    expect(g1BundleHashInput([])).toBe('[]');
  });

  it('hashes a DELETE payload as null whatever is passed', () => {
    expect(g1BundleHashInput([{ ...base, op: 'DELETE' }])).toBe(
      g1BundleHashInput([{ ...base, op: 'DELETE', payload: null }]),
    );
  });

  it('rounds row versions through float64 like Go', () => {
    expect(g1BundleHashInput([{ ...base, rowVersion: '9007199254740993' }])).toContain(
      '"row_version":9007199254740992,',
    );
    expect(g1BundleHashInput([{ ...base, rowVersion: 2n ** 53n + 1n }])).toContain(
      '"row_version":9007199254740992,',
    );
  });

  it('escapes schema, table and key like any Go string', () => {
    expect(
      g1BundleHashInput([{ ...base, schema: 'a&b', table: 't\u2028', key: { 'k<': 'v>' } }]),
    ).toContain('{"key":{"k\\u003c":"v\\u003e"},');
  });

  it.each(['', '01', '1.5', '1e3', 'abc', '+1', ' 1'])(
    'rejects row version %j with a RangeError',
    (rowVersion) => {
      expect(() => g1BundleHashInput([{ ...base, rowVersion }])).toThrow(RangeError);
    },
  );
});
