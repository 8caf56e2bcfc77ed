/** Fixture `canonical-json/jcs-uniform-numeric-strings.json`: value codec, JCS bytes, hashes. */

import { describe, expect, it } from 'vitest';
import {
  type BundleHashRow,
  bundleHashInput,
  bundleHashInputFromCanonicalPayloads,
  bytesToBase64,
  canonicalFloatText,
  canonicalJson,
  isCanonicalDecimalString,
  isCanonicalInt64String,
  PROTOCOL_VERSION,
  type PushHashRow,
  pushRequestHashInput,
  sha256Hex,
  validateWireValue,
  type WireFamily,
} from '../../src/index.js';
import { readFixture } from '../support/fixtures.js';

interface ValueCase {
  name: string;
  local_sqlite: { storage_class: string; value_text: string };
  uploaded_wire: string;
  postgres_destination: string;
  committed_server: string | boolean;
}

interface InvalidCase {
  name: string;
  family: WireFamily;
  input: unknown;
  input_json_type: string;
  category: string;
}

interface CanonicalExample {
  canonical_bytes: string;
  utf8_base64: string;
  sha256: string;
}

interface NumericFixture {
  required_protocol_version: string;
  integer_cases: ValueCase[];
  decimal_cases: ValueCase[];
  float_cases: ValueCase[];
  boolean_cases: ValueCase[];
  replay_cases: {
    name: string;
    frozen_local: { amount: string; ratio: number };
    uploaded_wire: { amount: string; ratio: string };
    committed_server: { amount: string; ratio: string };
  }[];
  invalid_cases: InvalidCase[];
  canonical_examples: Record<string, CanonicalExample>;
}

interface LogicalHashRow {
  row_ordinal: string;
  schema: string;
  table: string;
  key: Record<string, string>;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  base_row_version?: string;
  row_version?: string;
  payload: Record<string, unknown> | null;
}

export function describeCanonicalJsonFixture(): void {
  const fx = readFixture<NumericFixture>('canonical-json/jcs-uniform-numeric-strings.json');

  describe('canonical-json: jcs-uniform-numeric-strings', () => {
    it('requires the protocol version we implement', () => {
      expect(fx.required_protocol_version).toBe(PROTOCOL_VERSION);
    });

    describe('integer_cases', () => {
      it.each(fx.integer_cases)('$name', (c) => {
        expect(validateWireValue('integer', c.uploaded_wire)).toEqual({ ok: true });
        expect(isCanonicalInt64String(c.uploaded_wire)).toBe(true);
        // The upload is the local SQLite integer rendered exactly, beyond 2^53 too.
        expect(BigInt(c.local_sqlite.value_text).toString()).toBe(c.uploaded_wire);
        expect(validateWireValue('integer', c.committed_server)).toEqual({ ok: true });
      });
    });

    describe('decimal_cases', () => {
      it.each(fx.decimal_cases)('$name', (c) => {
        expect(validateWireValue('decimal', c.uploaded_wire)).toEqual({ ok: true });
        expect(isCanonicalDecimalString(c.uploaded_wire)).toBe(true);
        expect(c.uploaded_wire).toBe(c.local_sqlite.value_text);
        // PostgreSQL answers with its own scale; that text must be acceptable on the way back.
        expect(validateWireValue('decimal', c.committed_server)).toEqual({ ok: true });
      });
    });

    describe('float_cases', () => {
      it.each(fx.float_cases)('$name', (c) => {
        expect(validateWireValue('float', c.uploaded_wire)).toEqual({ ok: true });
        expect(canonicalFloatText(Number(c.local_sqlite.value_text))).toBe(c.uploaded_wire);
        const stored =
          c.postgres_destination === 'float4'
            ? Math.fround(Number(c.uploaded_wire))
            : Number(c.uploaded_wire);
        expect(canonicalFloatText(stored)).toBe(c.committed_server);
        expect(validateWireValue('float', c.committed_server)).toEqual({ ok: true });
      });
    });

    describe('boolean_cases', () => {
      it.each(fx.boolean_cases)('$name', (c) => {
        expect(validateWireValue('boolean', c.uploaded_wire)).toEqual({ ok: true });
        expect(validateWireValue('boolean', c.committed_server)).toEqual({ ok: true });
        expect(c.committed_server).toBe(c.uploaded_wire === '1');
      });
    });

    describe('replay_cases', () => {
      it.each(fx.replay_cases)('$name', (c) => {
        expect(canonicalFloatText(c.frozen_local.ratio)).toBe(c.uploaded_wire.ratio);
        expect(c.uploaded_wire.amount).toBe(c.frozen_local.amount);
        expect(canonicalFloatText(Math.fround(c.frozen_local.ratio))).toBe(
          c.committed_server.ratio,
        );
      });
    });

    describe('invalid_cases', () => {
      it.each(fx.invalid_cases)('$name is rejected as $category', (c) => {
        expect(typeof c.input === 'number' ? 'number' : 'string').toBe(c.input_json_type);
        const result = validateWireValue(c.family, c.input);
        expect(result.ok).toBe(false);
        expect(result).toMatchObject({ ok: false, category: c.category });
      });
    });

    describe('canonical_examples', () => {
      it.each(Object.entries(fx.canonical_examples))('%s', async (_name, example) => {
        const bytes = example.canonical_bytes;
        expect(canonicalJson(JSON.parse(bytes))).toBe(bytes);
        expect(bytesToBase64(new TextEncoder().encode(bytes))).toBe(example.utf8_base64);
        expect(await sha256Hex(bytes)).toBe(example.sha256);
      });

      it('push_request is reproduced by pushRequestHashInput from its logical rows', async () => {
        const example = fx.canonical_examples.push_request as CanonicalExample;
        const logical = JSON.parse(example.canonical_bytes) as LogicalHashRow[];
        const rows: PushHashRow[] = logical.map((r) => ({
          schema: r.schema,
          table: r.table,
          key: r.key,
          op: r.op,
          baseRowVersion: Number(r.base_row_version),
          payload: r.payload,
        }));
        const input = pushRequestHashInput(rows);
        expect(input).toBe(example.canonical_bytes);
        expect(await sha256Hex(input)).toBe(example.sha256);
      });

      it('committed_bundle is reproduced by both bundle hash input builders', async () => {
        const example = fx.canonical_examples.committed_bundle as CanonicalExample;
        const logical = JSON.parse(example.canonical_bytes) as LogicalHashRow[];
        const rows: BundleHashRow[] = logical.map((r) => ({
          schema: r.schema,
          table: r.table,
          key: r.key,
          op: r.op,
          rowVersion: BigInt(r.row_version as string),
          payload: r.payload,
        }));
        const input = bundleHashInput(rows);
        expect(input).toBe(example.canonical_bytes);
        expect(await sha256Hex(input)).toBe(example.sha256);

        const fromStored = bundleHashInputFromCanonicalPayloads(
          logical.map((r) => {
            const [keyColumn, key] = Object.entries(r.key)[0] as [string, string];
            return {
              schema: r.schema,
              table: r.table,
              keyColumn,
              key,
              op: r.op,
              rowVersion: r.row_version as string,
              payloadJson: r.payload === null ? null : canonicalJson(r.payload),
            };
          }),
        );
        expect(fromStored).toBe(example.canonical_bytes);
      });
    });
  });
}
