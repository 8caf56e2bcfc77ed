import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonString, jsonNumberText } from '../src/index.js';

describe('canonicalJson', () => {
  it('sorts members by UTF-16 code units, not by UTF-8 bytes', () => {
    // U+1F600 is D83D DE00 in UTF-16 (sorts before U+E000) but F0.. in UTF-8 (sorts after EE..).
    const value = { '\ue000': 1, '\u{1f600}': 2, b: 3, a: 4, A: 5, '': 6 };
    expect(canonicalJson(value)).toBe('{"":6,"A":5,"a":4,"b":3,"\u{1f600}":2,"\ue000":1}');
  });

  it('writes no whitespace and recurses into arrays and objects', () => {
    expect(canonicalJson({ z: [1, { y: null, x: true }], a: 'x' })).toBe(
      '{"a":"x","z":[1,{"x":true,"y":null}]}',
    );
  });

  it('escapes strings exactly like RFC 8785', () => {
    const s = '"\\\b\f\n\r\t\u0000\u001f\u007f<>&\u2028/é😀';
    expect(canonicalJson(s)).toBe('"\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\u007f<>&\u2028/é😀"');
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [4.5, '4.5'],
    [0.002, '0.002'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [1e30, '1e+30'],
    [Number('333333333.33333329'), '333333333.3333333'],
    [1e-27, '1e-27'],
    [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [Number('9007199254740993'), '9007199254740992'],
  ])('renders the number %s as %s', (n, text) => {
    expect(canonicalJson(n)).toBe(text);
    expect(jsonNumberText(n)).toBe(text);
  });

  it('renders bigint values as exact JSON numbers', () => {
    expect(canonicalJson({ n: 9223372036854775807n, m: -9223372036854775808n })).toBe(
      '{"m":-9223372036854775808,"n":9223372036854775807}',
    );
  });

  it('skips undefined members', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('uses toJSON like JSON.stringify', () => {
    expect(canonicalJson({ at: new Date(Date.UTC(2026, 2, 22)) })).toBe(
      '{"at":"2026-03-22T00:00:00.000Z"}',
    );
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', '\udc00'],
    ['a reversed pair', '\udc00\ud800'],
    ['a lone surrogate in a key', { '\ud800': 1 }],
    ['undefined at top level', undefined],
    ['undefined in an array', [1, undefined]],
    ['a function', () => 1],
    ['a symbol', Symbol('x')],
    ['a Map', new Map([['a', 1]])],
    ['a Uint8Array', new Uint8Array([1])],
  ])('throws a TypeError for %s', (_label, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it('throws on cycles but accepts shared (acyclic) references', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
  });

  it('accepts null-prototype objects', () => {
    const o = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    expect(canonicalJson(o)).toBe('{"a":2,"b":1}');
  });

  test.prop([fc.jsonValue()])('round-trips through JSON.parse', (value) => {
    const text = canonicalJson(value);
    // -0 is the only JSON value whose canonical form changes its parsed value.
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  test.prop([fc.jsonValue()])(
    'has the length of JSON.stringify (only member order differs)',
    (value) => {
      const text = canonicalJson(value);
      expect(text.length).toBe(JSON.stringify(value).length);
    },
  );
});

describe('canonicalJsonString', () => {
  test.prop([fc.string({ unit: 'grapheme' })])(
    'equals JSON.stringify for well-formed strings',
    (s) => {
      expect(canonicalJsonString(s)).toBe(JSON.stringify(s));
    },
  );
});

describe('jsonNumberText', () => {
  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true })])(
    'round-trips every double',
    (x) => {
      const text = jsonNumberText(x);
      expect(Number(text)).toBe(Object.is(x, -0) ? 0 : x);
      expect(text).toBe(Object.is(x, -0) ? '0' : String(x));
    },
  );
});
