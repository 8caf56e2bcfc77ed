/**
 * Deterministic row data for the benchmark and the G2 request bodies built from it.
 * Everything a real client would compute before talking to the server (payloads, the
 * canonical request hash, the JSON bodies) is prepared here, outside the timed sections.
 */
import { pushRequestHashInput, sha256Hex } from '@oversync/protocol';

export const SCHEMA = 'bench';
export const TABLE = 'items';
export const RAW_TABLE = 'raw_items';

/** One row of `bench.items` as typed values (for the raw baseline) and as a G2 payload. */
export interface BenchRow {
  id: string;
  title: string;
  body: string;
  qty: string;
  price: string;
  done: boolean;
  updatedAt: string;
}

/** A tiny seeded PRNG (mulberry32) so runs see the same data shape. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat'.split(
    ' ',
  );

function words(rand: () => number, length: number): string {
  let s = '';
  while (s.length < length) s += `${s ? ' ' : ''}${WORDS[Math.floor(rand() * WORDS.length)]}`;
  return s.slice(0, length);
}

function uuid(rand: () => number): string {
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
    return s;
  };
  const variant = '89ab'[Math.floor(rand() * 4)];
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
}

/** `count` rows; payload JSON is ~256 bytes each. */
export function makeRows(rand: () => number, count: number, ordinalBase: number): BenchRow[] {
  const out: BenchRow[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i++) {
    let cents = 1 + Math.floor(rand() * 99);
    if (cents % 10 === 0) cents += 1; // canonical decimal text: no trailing zero
    out.push({
      id: uuid(rand),
      title: `Item ${ordinalBase + i} ${words(rand, 28)}`.trim(),
      body: words(rand, 120).trim(),
      qty: String(Math.floor(rand() * 10_000)),
      price: `${Math.floor(rand() * 10_000)}.${String(cents).padStart(2, '0')}`,
      done: rand() < 0.5,
      updatedAt: new Date(t0 + Math.floor(rand() * 31_536_000_000)).toISOString(),
    });
  }
  return out;
}

/** G2 wire payload of a row (integers and decimals as strings). */
export function payloadOf(r: BenchRow): Record<string, unknown> {
  return {
    id: r.id,
    title: r.title,
    body: r.body,
    qty: r.qty,
    price: r.price,
    done: r.done,
    updated_at: r.updatedAt,
  };
}

/** The three request bodies of one INSERT bundle pushed as a single chunk. */
export interface PreparedBundle {
  sourceBundleId: number;
  rows: BenchRow[];
  createBody: string;
  chunkBody: string;
  payloadBytes: number;
  /** canonical_request_hash and its input (for the BENCH_FLOOR prototype). */
  requestHash: string;
  hashInput: string;
  /** The payloads as one JSON array (for the BENCH_FLOOR prototype). */
  payloadsJson: string;
}

export async function prepareBundle(
  rows: BenchRow[],
  sourceBundleId: number,
): Promise<PreparedBundle> {
  const wireRows = rows.map((r) => ({
    schema: SCHEMA,
    table: TABLE,
    key: { id: r.id },
    op: 'INSERT' as const,
    base_row_version: 0,
    payload: payloadOf(r),
  }));
  const hashInput = pushRequestHashInput(
    wireRows.map((w) => ({
      schema: w.schema,
      table: w.table,
      key: w.key,
      op: w.op,
      baseRowVersion: w.base_row_version,
      payload: w.payload,
    })),
  );
  const hash = await sha256Hex(hashInput);
  let payloadBytes = 0;
  for (const w of wireRows) payloadBytes += Buffer.byteLength(JSON.stringify(w.payload));
  return {
    sourceBundleId,
    rows,
    createBody: JSON.stringify({
      source_bundle_id: sourceBundleId,
      planned_row_count: rows.length,
      canonical_request_hash: hash,
    }),
    chunkBody: JSON.stringify({ start_row_ordinal: 0, rows: wireRows }),
    payloadBytes,
    requestHash: hash,
    hashInput,
    payloadsJson: JSON.stringify(wireRows.map((w) => w.payload)),
  };
}

/** Column arrays for a `unnest` multi-row INSERT of the raw baseline. */
export function rawColumns(rows: readonly BenchRow[]): unknown[] {
  return [
    rows.map((r) => r.id),
    rows.map((r) => r.title),
    rows.map((r) => r.body),
    rows.map((r) => r.qty),
    rows.map((r) => r.price),
    rows.map((r) => r.done),
    rows.map((r) => r.updatedAt),
  ];
}

export const RAW_INSERT_SQL = `INSERT INTO ${SCHEMA}.${RAW_TABLE}
  (_sync_scope_id, id, title, body, qty, price, done, updated_at)
  SELECT $1, u.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::int8[], $6::numeric[], $7::bool[], $8::timestamptz[])
    AS u(id, title, body, qty, price, done, updated_at)`;

export const RAW_SELECT_SQL = `SELECT _sync_scope_id, id, title, body, qty, price, done, updated_at
  FROM ${SCHEMA}.${RAW_TABLE} WHERE _sync_scope_id = $1`;

export function tableDdl(name: string): string {
  return `CREATE TABLE ${SCHEMA}.${name} (
  _sync_scope_id text NOT NULL,
  id uuid NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  qty bigint NOT NULL,
  price numeric(12,2) NOT NULL,
  done boolean NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
)`;
}
