import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  type BundleHashRow,
  bundleHash,
  bundleHashInput,
  bundleHashInputFromCanonicalPayloads,
  canonicalJson,
  type PushHashRow,
  pushRequestHash,
  pushRequestHashInput,
  sha256Hex,
} from '../src/index.js';

describe('sha256Hex', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ])('hashes %j to the FIPS 180-2 vector', async (text, expected) => {
    expect(await sha256Hex(text)).toBe(expected);
  });

  test.prop([fc.string({ unit: 'grapheme' })])(
    'hashes the UTF-8 bytes of the text',
    async (text) => {
      expect(await sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    },
  );
});

const insert: PushHashRow = {
  schema: 'main',
  table: 'users',
  key: { id: 'u1' },
  op: 'INSERT',
  baseRowVersion: 0,
  payload: { name: 'Ada', id: 'u1' },
};

describe('pushRequestHashInput', () => {
  it('writes ordinals and base versions as decimal strings, DELETE payloads as null', () => {
    const input = pushRequestHashInput([
      insert,
      { ...insert, op: 'DELETE', baseRowVersion: 12n, payload: undefined },
      { ...insert, key: { id: 'u2' }, op: 'UPDATE', baseRowVersion: '9007199254740993' },
    ]);
    expect(input).toBe(
      '[{"base_row_version":"0","key":{"id":"u1"},"op":"INSERT","payload":{"id":"u1","name":"Ada"},"row_ordinal":"0","schema":"main","table":"users"},' +
        '{"base_row_version":"12","key":{"id":"u1"},"op":"DELETE","payload":null,"row_ordinal":"1","schema":"main","table":"users"},' +
        '{"base_row_version":"9007199254740993","key":{"id":"u2"},"op":"UPDATE","payload":{"id":"u1","name":"Ada"},"row_ordinal":"2","schema":"main","table":"users"}]',
    );
  });

  it('is the empty array for no rows', () => {
    expect(pushRequestHashInput([])).toBe('[]');
  });

  it.each([
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 60],
    ['a leading zero', '01'],
    ['a plus sign', '+1'],
    ['negative zero', '-0'],
    ['an empty string', ''],
  ])('rejects a base_row_version with %s', (_label, baseRowVersion) => {
    expect(() => pushRequestHashInput([{ ...insert, baseRowVersion }])).toThrow(RangeError);
  });

  it('pushRequestHash is the SHA-256 of the input', async () => {
    expect(await pushRequestHash([insert])).toBe(await sha256Hex(pushRequestHashInput([insert])));
  });
});

const rowArbitrary: fc.Arbitrary<BundleHashRow> = fc.record({
  schema: fc.string({ unit: 'grapheme', maxLength: 8 }),
  table: fc.string({ unit: 'grapheme', maxLength: 8 }),
  key: fc
    .tuple(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'grapheme' }))
    .map(([column, value]) => ({ [column]: value })),
  op: fc.constantFrom('INSERT' as const, 'UPDATE' as const, 'DELETE' as const),
  rowVersion: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
  payload: fc.option(fc.dictionary(fc.string(), fc.jsonValue()), { nil: null }),
});

describe('bundleHashInput', () => {
  it('writes ordinals and row versions as decimal strings in JCS member order', () => {
    const input = bundleHashInput([
      {
        schema: 'main',
        table: 'users',
        key: { id: 'u1' },
        op: 'DELETE',
        rowVersion: 7,
        payload: null,
      },
    ]);
    expect(input).toBe(
      '[{"key":{"id":"u1"},"op":"DELETE","payload":null,"row_ordinal":"0","row_version":"7","schema":"main","table":"users"}]',
    );
  });

  test.prop([fc.array(rowArbitrary, { maxLength: 5 })])(
    'equals the concatenating builder over canonical payload text',
    (rows) => {
      const fromStored = bundleHashInputFromCanonicalPayloads(
        rows.map((row) => {
          const [keyColumn, key] = Object.entries(row.key)[0] ?? ['', ''];
          return {
            schema: row.schema,
            table: row.table,
            keyColumn,
            key,
            op: row.op,
            rowVersion: String(row.rowVersion),
            payloadJson: row.payload === null ? null : canonicalJson(row.payload),
          };
        }),
      );
      expect(fromStored).toBe(bundleHashInput(rows));
    },
  );

  it('rejects a non-canonical stored row version', () => {
    expect(() =>
      bundleHashInputFromCanonicalPayloads([
        {
          schema: 's',
          table: 't',
          keyColumn: 'id',
          key: 'k',
          op: 'INSERT',
          rowVersion: '07',
          payloadJson: '{}',
        },
      ]),
    ).toThrow(RangeError);
  });

  it('bundleHash is the SHA-256 of the input', async () => {
    const rows: BundleHashRow[] = [
      {
        schema: 'main',
        table: 'users',
        key: { id: 'u1' },
        op: 'INSERT',
        rowVersion: '3',
        payload: { id: 'u1' },
      },
    ];
    expect(await bundleHash(rows)).toBe(await sha256Hex(bundleHashInput(rows)));
  });
});
