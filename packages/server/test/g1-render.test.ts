/**
 * G1 rendering units: the server's bundle rendering reproduces go-oversync's `bundle_hash`
 * vectors (protocol.md §2.8) from the stored (G2) form, and G1 ingress converts JSON number
 * literals exactly.
 */

import { JsonNumber, parseLosslessJson } from '@oversync/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../src/bootstrap/catalog.js';
import { type ColumnInfo, columnFamily, type TableInfo } from '../src/bootstrap/table-info.js';
import { OP_DELETE, OP_INSERT, OP_UPDATE } from '../src/capture/normalize.js';
import { g1ChunkToStored, integerFromLiteral, losslessJsonText } from '../src/push/g1-ingress.js';
import { g1BundlePayload, g1BundlePayloadSlow, goTimeText } from '../src/render/g1-payload.js';
import { renderG1Bundle } from '../src/render/g1-rows.js';

function table(tableId: number, schema: string, name: string, cols: [string, string][]): TableInfo {
  const columns: ColumnInfo[] = cols
    .map(([n, type]) => ({
      name: n,
      type,
      family: columnFamily(type),
      notNull: false,
      hasDefault: false,
      generated: false,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    tableId,
    schema,
    table: name,
    keyColumn: 'id',
    keyKind: 'text',
    columns,
    columnsByName: new Map(columns.map((c) => [c.name, c])),
  };
}

const users = table(1, 'business', 'users', [
  ['id', 'text'],
  ['name', 'text'],
  ['email', 'text'],
]);
const posts = table(2, 'business', 'posts', [
  ['id', 'text'],
  ['title', 'text'],
  ['body', 'text'],
  ['score', 'float8'],
  ['views', 'int8'],
  ['big', 'int8'],
  ['flag', 'bool'],
  ['note', 'text'],
  ['blob', 'bytea'],
  ['meta', 'jsonb'],
  ['amount', 'numeric'],
  ['at', 'timestamptz'],
]);
const catalog = new Catalog([users, posts]);

describe('G1 bundle rendering (protocol.md §2.8 vectors)', () => {
  it('v1_single_insert: hash, byte_count and wire row from the stored payload', () => {
    const r = renderG1Bundle(catalog, '143', [
      {
        tableId: 1,
        op: OP_INSERT,
        key: '550e8400-e29b-41d4-a716-446655440000',
        payload:
          '{"email":"john@example.com","id":"550e8400-e29b-41d4-a716-446655440000","name":"John Doe"}',
      },
    ]);
    expect(r.bundleHash).toBe('0ab2b08d01bb7da478119a608463e98fe6ce37ee7cdf4b63d1dc4d5894c81f28');
    expect(r.byteCount).toBe(240);
    expect(JSON.parse(r.rows[0] as string)).toEqual({
      schema: 'business',
      table: 'users',
      key: { id: '550e8400-e29b-41d4-a716-446655440000' },
      op: 'INSERT',
      row_version: 143,
      payload: {
        email: 'john@example.com',
        id: '550e8400-e29b-41d4-a716-446655440000',
        name: 'John Doe',
      },
    });
  });

  it('v2_mixed: float64 rounding, Go escaping, nested JSON, DELETE without payload', () => {
    // The stored form keeps every number exact as a string; G1 re-renders through float64.
    const stored = JSON.stringify({
      big: '9007199254740993',
      blob: 'AAEC/w==',
      body: 'café \u2028 line',
      flag: true,
      id: 'p-1',
      meta: '{"z":1,"a":[1,"x",false]}',
      note: null,
      score: '1.5',
      title: '<b>Tom & Jerry</b>',
      views: '42',
    });
    const r = renderG1Bundle(catalog, '7', [
      { tableId: 2, op: OP_UPDATE, key: 'p-1', payload: stored },
      { tableId: 1, op: OP_DELETE, key: 'u-2', payload: null },
    ]);
    expect(r.bundleHash).toBe('baa8335bff8007462c5698a2be4262e7bcd4616f99f1b74c4096a37737f217c1');
    expect(r.byteCount).toBe(447);
    expect(r.rows[1]).toBe(
      '{"schema":"business","table":"users","key":{"id":"u-2"},"op":"DELETE","row_version":7}',
    );
    expect(r.rows[0]).toContain('"big":9007199254740992');
    expect(r.rows[0]).toContain('"title":"\\u003cb\\u003eTom \\u0026 Jerry\\u003c/b\\u003e"');
  });

  it('a changed value changes the hash (the vectors are not matched by accident)', () => {
    const r = renderG1Bundle(catalog, '143', [
      {
        tableId: 1,
        op: OP_INSERT,
        key: '550e8400-e29b-41d4-a716-446655440000',
        payload:
          '{"email":"john@example.org","id":"550e8400-e29b-41d4-a716-446655440000","name":"John Doe"}',
      },
    ]);
    expect(r.bundleHash).not.toBe(
      '0ab2b08d01bb7da478119a608463e98fe6ce37ee7cdf4b63d1dc4d5894c81f28',
    );
  });

  it('renders numerics, timestamptz and NaN the way go-oversync bundle rows carry them', () => {
    const out = g1BundlePayload(
      posts,
      JSON.stringify({
        amount: '12.3000',
        at: '2026-03-24T18:42:11.123456Z',
        id: 'x',
        score: 'NaN',
      }),
    );
    expect(out).toBe(
      '{"amount":12.3,"at":"2026-03-24T18:42:11.123456+00:00","id":"x","score":"NaN"}',
    );
  });

  it('formats times as Go RFC3339Nano', () => {
    expect(goTimeText(new Date('2026-03-22T12:15:00.500Z'))).toBe('2026-03-22T12:15:00.5Z');
    expect(goTimeText(new Date('2026-03-22T12:15:00.000Z'))).toBe('2026-03-22T12:15:00Z');
    expect(goTimeText(new Date('2026-03-22T12:15:10.120Z'))).toBe('2026-03-22T12:15:10.12Z');
  });
});

describe('G1 ingress', () => {
  it('integerFromLiteral works on digits, never through a JS number', () => {
    expect(integerFromLiteral('9007199254740993')).toBe('9007199254740993');
    expect(integerFromLiteral('-9223372036854775808')).toBe('-9223372036854775808');
    expect(integerFromLiteral('1.0')).toBe('1');
    expect(integerFromLiteral('1e3')).toBe('1000');
    expect(integerFromLiteral('12.5e1')).toBe('125');
    expect(integerFromLiteral('-0')).toBe('0');
    expect(integerFromLiteral('1.5')).toBeUndefined();
    expect(integerFromLiteral('1e-1')).toBeUndefined();
    expect(integerFromLiteral('1e999999')).toBeUndefined();
  });

  it('converts payload numbers to the stored form per column type', () => {
    const body = g1ChunkToStored(
      catalog,
      parseLosslessJson(
        '{"start_row_ordinal":0,"rows":[{"schema":"business","table":"posts","key":{"id":"p"},"op":"INSERT","base_row_version":0,' +
          '"payload":{"id":"p","big":9007199254740993,"views":4.0e1,"score":1E-7,"amount":-0.00,"flag":1,"meta":{"n":12345678901234567890},"title":7}}]}',
      ),
    ) as { start_row_ordinal: number; rows: { base_row_version: number; payload: object }[] };
    expect(body.start_row_ordinal).toBe(0);
    expect(body.rows[0]?.base_row_version).toBe(0);
    expect(body.rows[0]?.payload).toEqual({
      id: 'p',
      big: '9007199254740993',
      views: '40',
      score: '1e-7',
      amount: '0',
      flag: true,
      meta: '{"n":12345678901234567890}',
      // Not a number column: left as is, so validation rejects it.
      title: new JsonNumber('7'),
    });
  });

  it('keeps an unsafe envelope integer out of JS numbers (validation then rejects it)', () => {
    const body = g1ChunkToStored(
      catalog,
      parseLosslessJson('{"start_row_ordinal":9007199254740993,"rows":[]}'),
    ) as { start_row_ordinal: unknown };
    expect(body.start_row_ordinal).toBe('9007199254740993');
  });

  it('losslessJsonText keeps digits', () => {
    expect(losslessJsonText(parseLosslessJson('[1e400,{"a":-0.10}]'))).toBe('[1e400,{"a":-0.10}]');
  });
});

describe('G1 bundle payload fast path', () => {
  const typedTable = table(3, 'business', 'typed', [
    ['id', 'text'],
    ['i', 'int8'],
    ['n', 'numeric'],
    ['f', 'float8'],
    ['b', 'bool'],
    ['s', 'text'],
    ['t', 'timestamptz'],
    ['d', 'bytea'],
  ]);
  const intText = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
  const decimalText = fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 }))
    .map(([v, scale]) => {
      const neg = v < 0n;
      const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
      const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
      return neg && v !== 0n ? `-${text}` : text;
    });
  const floatText = fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => String(x));
  const payload = fc.record(
    {
      id: fc.string(),
      i: fc.option(intText),
      n: fc.option(decimalText),
      f: fc.option(fc.oneof(floatText, fc.constant('NaN'))),
      b: fc.option(fc.boolean()),
      s: fc.option(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          // Text that looks like a number or timestamptz member must stay text.
          fc.constantFrom(',"i":"12"', '{"t":"2026-03-24T18:42:11Z"', '\\",\\"i\\":\\"5', 'x\\'),
        ),
      ),
      t: fc.option(
        fc.constantFrom('2026-03-24T18:42:11Z', '2026-03-24T18:42:11.123456Z', 'infinity'),
      ),
      d: fc.option(fc.constantFrom('', 'AAEC/w==')),
    },
    { requiredKeys: ['id'] },
  );

  it('equals the general path on random stored payloads', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const sorted = Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1)));
        const stored = JSON.stringify(sorted);
        expect(g1BundlePayload(typedTable, stored)).toBe(g1BundlePayloadSlow(typedTable, stored));
      }),
      { numRuns: 2000 },
    );
  });
});
