/**
 * G2 value encodings (uniform numeric strings) on typed columns, driven by
 * canonical-json/jcs-uniform-numeric-strings.json. Every accepted fixture value must come back
 * exactly as the fixture's `committed_server` in the committed rows, in pull and in snapshots.
 */

import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '@oversync/cli';
import {
  BACKENDS,
  contractsAvailable,
  FIXTURES_ABSENT,
  ins,
  type Json,
  loadContract,
  type PushRow,
  startTestServer,
  type TestServer,
  uniqueUser,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, instantMicros, latestSeq, ok } from './helpers.js';

const fixturesPresent = contractsAvailable();
const numeric = fixturesPresent
  ? loadContract('canonical-json/jcs-uniform-numeric-strings.json')
  : { integer_cases: [], decimal_cases: [], float_cases: [], boolean_cases: [], invalid_cases: [] };

/** Extra table whose numeric columns have exactly the fixture's decimal destinations. */
const FIXTURE_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS business.decimal_fixtures (
  _sync_scope_id TEXT NOT NULL,
  id UUID NOT NULL,
  n_30_9 NUMERIC(30, 9) NULL,
  n_10_2 NUMERIC(10, 2) NULL,
  n_8_4 DECIMAL(8, 4) NULL,
  PRIMARY KEY (_sync_scope_id, id)
);`;

const TABLES = [
  ...DEMO_TABLES,
  { schema: 'business', table: 'decimal_fixtures', syncKeyColumn: 'id' },
];

/** typed_rows column for each fixture `postgres_destination`. */
const TYPED_COLUMN: Record<string, string> = {
  int8: 'count_value',
  int2: 'small_count',
  int4: 'medium_count',
  float8: 'rating',
  float4: 'float4_value',
  boolean: 'enabled_flag',
};

/** decimal_fixtures column for each decimal destination. */
const DECIMAL_COLUMN: Record<string, string> = {
  'numeric(30,9)': 'n_30_9',
  'numeric(10,2)': 'n_10_2',
  'decimal(8,4)': 'n_8_4',
};

/** The NUMERIC(30,10) rendering of typed_rows.exact_amount for each decimal case. */
const EXACT_AMOUNT_SCALE_10: Record<string, string> = {
  decimal_precision_and_scale: '1234567890.1234567890',
  decimal_exponent: '1250.0000000000',
  decimal_postgresql_authoritative_scale: '12.3000000000',
};

/** Column per invalid-case family. */
const INVALID_COLUMN: Record<string, string> = {
  integer: 'count_value',
  decimal: 'exact_amount',
  float: 'rating',
  boolean: 'enabled_flag',
};

function typedRow(id: string, extra: Record<string, unknown>): PushRow {
  return ins('typed_rows', id, { name: 'typed', enabled_flag: '0', ...extra });
}

interface Case {
  name: string;
  uploaded_wire: string;
  postgres_destination: string;
  committed_server: string | boolean;
}

const decimalCases: [string, Case][] = numeric.decimal_cases.map((c: Case) => [c.name, c]);
const invalidCases: [string, Json][] = numeric.invalid_cases.map((c: Json) => [c.name, c]);

if (!fixturesPresent)
  describe.skip(FIXTURES_ABSENT, () => {
    it('canonical-json/jcs-uniform-numeric-strings.json value cases', () => {});
  });

describe.each(BACKENDS)('values [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: DEMO_SCHEMA_SQL + FIXTURE_TABLE_SQL,
      tables: TABLES as never,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /**
   * Pushes one row and returns its payload as seen in the committed rows, in pull and in a
   * snapshot (all three must agree).
   */
  async function roundTrip(row: PushRow): Promise<Json> {
    const user = uniqueUser('val');
    await t.initEmpty(user);
    const commit = await t.pushOk(user, 'dev', 1, [row]);
    const committed = ok(await t.committedRows(user, 'dev', commit.bundle_seq)).rows[0].payload;
    const pulled = (await t.pullAll(user, 'dev')).bundles[0].rows[0].payload;
    const snap = (await t.snapshotAll(user, 'dev')).rows[0].payload;
    expect(pulled).toEqual(committed);
    expect(snap).toEqual(committed);
    return committed;
  }

  const accepted: Case[] = [
    ...numeric.integer_cases,
    ...numeric.float_cases,
    ...numeric.boolean_cases,
  ];

  it.each(accepted.map((c) => [c.name, c] as const))(
    'fixture %s: uploaded value comes back as committed_server exactly',
    async (_name, c) => {
      const column = TYPED_COLUMN[c.postgres_destination];
      expect(column, `no typed_rows column for ${c.postgres_destination}`).toBeDefined();
      const payload = await roundTrip(typedRow(uuid(1), { [column as string]: c.uploaded_wire }));
      expect(payload[column as string]).toStrictEqual(c.committed_server);
    },
  );

  it.each(decimalCases)(
    'fixture %s: decimal comes back with PostgreSQL scale (exact destination and NUMERIC(30,10))',
    async (_name, c: Case) => {
      const column = DECIMAL_COLUMN[c.postgres_destination.replaceAll(' ', '')];
      expect(column, `no column for ${c.postgres_destination}`).toBeDefined();
      const exact = await roundTrip(
        ins('decimal_fixtures', uuid(1), { [column as string]: c.uploaded_wire }),
      );
      expect(exact[column as string]).toStrictEqual(c.committed_server);
      const typed = await roundTrip(typedRow(uuid(2), { exact_amount: c.uploaded_wire }));
      expect(typed.exact_amount).toStrictEqual(EXACT_AMOUNT_SCALE_10[c.name]);
    },
  );

  it.each(invalidCases)(
    'fixture invalid %s is rejected before mutation (400 push_chunk_invalid)',
    async (_name, c: Json) => {
      const column = INVALID_COLUMN[c.family];
      expect(column, `no column for family ${c.family}`).toBeDefined();
      const user = uniqueUser('inv');
      await t.initEmpty(user);
      const res = await t.pushBundle(user, 'dev', 1, [
        typedRow(uuid(1), { [column as string]: c.input }),
      ]);
      expect(res.create.status).toBe(200);
      const chunk = res.chunks[0];
      expect(chunk).toBeDefined();
      expectError(chunk as never, 400, 'push_chunk_invalid');
      expect(await latestSeq(t, user)).toBe(0);
    },
  );

  it('every numeric column at once, plus NULLs, round-trips with exact strings', async () => {
    const payload = await roundTrip(
      typedRow(uuid(1), {
        note: null,
        count_value: '9007199254740993',
        small_count: '-32768',
        medium_count: '2147483647',
        exact_amount: '0.0000000001',
        enabled_flag: '1',
        rating: '5e-324',
        float4_value: '0.5',
        data: null,
        created_at: null,
      }),
    );
    expect(payload).toEqual({
      id: uuid(1),
      name: 'typed',
      note: null,
      count_value: '9007199254740993',
      small_count: '-32768',
      medium_count: '2147483647',
      exact_amount: '0.0000000001',
      enabled_flag: true,
      rating: '5e-324',
      float4_value: '0.5',
      data: null,
      created_at: null,
    });
  });

  it('omitted nullable columns come back as null (full after-image)', async () => {
    const payload = await roundTrip(typedRow(uuid(1), {}));
    for (const col of [
      'note',
      'count_value',
      'small_count',
      'medium_count',
      'exact_amount',
      'rating',
      'float4_value',
      'data',
      'created_at',
    ]) {
      expect(payload[col], col).toBeNull();
    }
    expect(payload.enabled_flag).toBe(false);
  });

  it.each([
    ['bytes 00 01 02 ff', 'AAEC/w=='],
    ['empty', ''],
    ['one byte', 'AA=='],
    ['256 bytes', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('base64')],
  ])('bytea base64 round trip: %s', async (_name, b64) => {
    const payload = await roundTrip(typedRow(uuid(1), { data: b64 }));
    expect(payload.data).toBe(b64);
  });

  it('files.data (bytea NOT NULL) round-trips as standard base64', async () => {
    const b64 = Buffer.from('hello \u0000 world', 'utf8').toString('base64');
    const payload = await roundTrip(ins('files', uuid(1), { name: 'f', data: b64 }));
    expect(payload.data).toBe(b64);
  });

  it.each([
    ['UTC with Z', '2026-03-22T12:00:01Z'],
    ['offset +02:00 with micros', '2026-03-22T12:00:01.123456+02:00'],
    ['negative offset', '2026-01-01T00:00:00.5-05:30'],
  ])('timestamptz %s comes back as an RFC 3339 instant equal to the input', async (_n, ts) => {
    const payload = await roundTrip(typedRow(uuid(1), { created_at: ts }));
    expect(typeof payload.created_at).toBe('string');
    expect(payload.created_at).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    );
    expect(instantMicros(payload.created_at)).toBe(instantMicros(ts));
  });

  it('server defaults for timestamptz are RFC 3339 too', async () => {
    const payload = await roundTrip(ins('users', uuid(1), { name: 'n', email: 'e' }));
    expect(payload.created_at).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
    );
  });

  it('text is preserved exactly (unicode, HTML characters, U+2028, quotes) and NULL uuid stays null', async () => {
    const text = 'caf\u00e9 \u2028 <b>&</b> "quoted" \\ \u{1f600}';
    const payload = await roundTrip(
      ins('posts', uuid(1), { title: text, content: '', author_id: null }),
    );
    expect(payload.title).toBe(text);
    expect(payload.content).toBe('');
    expect(payload.author_id).toBeNull();
  });

  it('conflict server_row uses the same G2 encodings', async () => {
    const user = uniqueUser('confval');
    await t.initEmpty(user);
    await t.pushOk(user, 'a', 1, [
      typedRow(uuid(1), { count_value: '9223372036854775807', enabled_flag: '1', rating: '1.5' }),
    ]);
    const res = await t.pushBundle(user, 'b', 1, [typedRow(uuid(1), {})]);
    expectError(res.commit as never, 409, 'push_conflict');
    const row = res.commit?.json.conflict.server_row;
    expect(row.count_value).toBe('9223372036854775807');
    expect(row.enabled_flag).toBe(true);
    expect(row.rating).toBe('1.5');
  });
});
