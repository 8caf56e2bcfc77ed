import { PGlite } from '@electric-sql/pglite';
import { canonicalFloatText, canonicalJson } from '@oversync/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadSql } from '../src/bootstrap/payload-sql.js';
import { type ColumnInfo, columnFamily, type TableInfo } from '../src/bootstrap/table-info.js';
import { SYNC_SCHEMA_SQL } from '../src/schema/sync-schema-sql.js';

// REAL values are rendered inside PostgreSQL (capture triggers, snapshots). Clients compare
// them with ECMAScript Number#toString, so the SQL renderer must agree on every double.
describe('sync.js_number_text renders float8 exactly like ECMAScript', () => {
  let pg: PGlite;
  beforeAll(async () => {
    pg = await PGlite.create();
    await pg.exec(SYNC_SCHEMA_SQL);
  });
  afterAll(async () => {
    await pg.close();
  });

  async function render(values: number[]): Promise<string[]> {
    const { rows } = await pg.query<{ t: string }>(
      'SELECT sync.js_number_text(v) AS t FROM unnest($1::float8[]) WITH ORDINALITY AS x(v, o) ORDER BY o',
      [values.map((v) => (Object.is(v, -0) ? '-0' : String(v)))],
    );
    return rows.map((r) => r.t);
  }

  it('matches on boundary values of the exponent switch and extremes', async () => {
    const values = [
      1,
      -1,
      0.1,
      123.45,
      1e15,
      1e16,
      1e20,
      1e21,
      1.5e21,
      1e-6,
      1e-7,
      1.5e-7,
      0.000001234,
      5e-324,
      1.7976931348623157e308,
      -1.7976931348623157e308,
      2 ** 53 + 2,
      123456789012345680000,
      0.3,
      Math.fround(1.2345678901234567),
    ];
    expect(await render(values)).toEqual(values.map(canonicalFloatText));
  });

  it('renders text payloads as RFC 8785 canonical JSON for arbitrary strings', async () => {
    await pg.exec('CREATE TABLE IF NOT EXISTS t_text (id text, body text, flag boolean)');
    const col = (name: string, type: string): ColumnInfo => ({
      name,
      type,
      family: columnFamily(type),
      notNull: false,
      hasDefault: false,
      generated: false,
    });
    const columns = [col('body', 'text'), col('flag', 'bool'), col('id', 'text')];
    const table: TableInfo = {
      tableId: 1,
      schema: 'public',
      table: 't_text',
      keyColumn: 'id',
      keyKind: 'text',
      columns,
      columnsByName: new Map(columns.map((c) => [c.name, c])),
    };
    const text = fc
      .string({ unit: 'grapheme', maxLength: 30 })
      .filter((s) => !s.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(text, fc.option(text), fc.option(fc.boolean()), async (id, body, flag) => {
        const { rows } = await pg.query<{ p: string }>(
          `SELECT ${payloadSql(table, 'v')} AS p FROM (SELECT $1::text AS id, $2::text AS body, $3::boolean AS flag) AS v`,
          [id, body, flag],
        );
        expect(rows[0]?.p).toBe(canonicalJson({ id, body, flag }));
      }),
      { numRuns: 200 },
    );
  });

  it('renders negative zero as "0"', async () => {
    expect(await render([-0, 0])).toEqual(['0', '0']);
  });

  it('matches for arbitrary finite doubles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), {
          minLength: 1,
          maxLength: 200,
        }),
        async (values) => {
          expect(await render(values)).toEqual(values.map(canonicalFloatText));
        },
      ),
      { numRuns: 20 },
    );
  });
});
