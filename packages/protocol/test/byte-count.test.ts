import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type SnapshotRow,
  snapshotRowByteCount,
  snapshotRowJsonFromCanonicalPayload,
  utf8ByteLength,
} from '../src/index.js';

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['\ud800', 3],
    ['\udc00x', 4],
  ])('%j is %d bytes', (text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
  });

  test.prop([fc.string({ unit: 'binary' })])(
    'agrees with TextEncoder, lone surrogates included',
    (text) => {
      expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
    },
  );
});

describe('snapshotRowByteCount', () => {
  it('counts the fixture row as 130 bytes', () => {
    const row: SnapshotRow = {
      schema: 'main',
      table: 'users',
      key: { id: 'adopted-user-1' },
      row_version: 1,
      payload: { id: 'adopted-user-1', name: 'Adopted' },
    };
    expect(snapshotRowByteCount(row)).toBe(130);
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    const row: SnapshotRow = {
      schema: 's',
      table: 't',
      key: { id: 'k' },
      row_version: 1,
      payload: { n: 'é' },
    };
    expect(snapshotRowByteCount(row)).toBe(canonicalJson(row).length + 1);
  });
});

describe('snapshotRowJsonFromCanonicalPayload', () => {
  test.prop([
    fc.record({
      schema: fc.string({ unit: 'grapheme', maxLength: 8 }),
      table: fc.string({ unit: 'grapheme', maxLength: 8 }),
      keyColumn: fc.string({ unit: 'grapheme', maxLength: 6 }),
      key: fc.string({ unit: 'grapheme' }),
      rowVersion: fc.integer({ min: 1 }),
      payload: fc.dictionary(fc.string(), fc.jsonValue()),
    }),
  ])('is the canonical JSON of the equivalent row object', (r) => {
    const row: SnapshotRow = {
      schema: r.schema,
      table: r.table,
      key: { [r.keyColumn]: r.key },
      row_version: r.rowVersion,
      payload: r.payload,
    };
    const text = snapshotRowJsonFromCanonicalPayload({
      ...r,
      payloadJson: canonicalJson(r.payload),
    });
    expect(text).toBe(canonicalJson(row));
    expect(utf8ByteLength(text)).toBe(snapshotRowByteCount(row));
  });

  it('accepts bigint row versions and rejects unsafe numbers', () => {
    const base = { schema: 's', table: 't', keyColumn: 'id', key: 'k', payloadJson: '{}' };
    expect(
      snapshotRowJsonFromCanonicalPayload({ ...base, rowVersion: 9007199254740993n }),
    ).toContain('"row_version":9007199254740993,');
    expect(() => snapshotRowJsonFromCanonicalPayload({ ...base, rowVersion: 2 ** 60 })).toThrow(
      RangeError,
    );
  });
});
