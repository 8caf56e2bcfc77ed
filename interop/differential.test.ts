/**
 * Differential test: one scripted G1 workload through go-oversync's example server and
 * through our G1 mount, with the same client, the same ids and the same values. Every
 * response is compared after masking what is random by design (session ids, expiry times,
 * message texts), then the bundle hashes and finally the business tables themselves.
 *
 * The reference is not started here (its code is not part of this repository): run it
 * yourself and point `OVERSYNC_REFERENCE_URL`, `OVERSYNC_REFERENCE_JWT_SECRET` and
 * `OVERSYNC_REFERENCE_PG_URL` at it (interop/README.md). Without them this file reports one
 * skipped test saying so.
 */

import { randomBytes } from 'node:crypto';
import { DEMO_TABLES } from '@oversync/cli';
import { JsonNumber, type LosslessValue } from '@oversync/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G1Device, type G1Object, type G1PushRow, type G1Response, int } from './g1-client.js';
import { type OurServer, startOurServer } from './our-server.js';

const REF_URL = process.env.OVERSYNC_REFERENCE_URL;
const REF_SECRET =
  process.env.OVERSYNC_REFERENCE_JWT_SECRET ?? 'your-secret-key-change-in-production';
const REF_PG = process.env.OVERSYNC_REFERENCE_PG_URL;
const ADMIN_PG = process.env.OVERSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TABLES = DEMO_TABLES.map((t) => t.table);

/** Deterministic UUIDs: the same ids go to both servers. */
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

const user = (n: number, name: string, extra = '') =>
  `{"id":"${id(n)}","name":${JSON.stringify(name)},"email":"u${n}@example.com","created_at":"2026-03-24T18:42:11.123456Z","updated_at":"2026-03-24T18:42:11Z"${extra}}`;
const typed = (n: number, fields: string) => `{"id":"${id(n)}","name":"typed-${n}",${fields}}`;

/** One labelled exchange recorded on one server. */
interface Step {
  label: string;
  status: number;
  body: LosslessValue | undefined;
}

/** Everything random by design is masked; the rest must match byte for byte after parsing. */
function mask(value: LosslessValue | undefined, key = ''): unknown {
  if (value === undefined) return undefined;
  if (value instanceof JsonNumber) return `#${value.text}`;
  if (value === null || typeof value !== 'object') {
    if (['push_id', 'snapshot_id', 'initialization_id'].includes(key)) return '<id>';
    if (['expires_at', 'lease_expires_at'].includes(key)) return '<time>';
    if (key === 'message') return '<message>';
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => mask(v));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = mask(value[k], k);
  return out;
}

interface Transcript {
  steps: Step[];
  tables: Record<string, string[]>;
}

/** The scripted workload; returns every exchange plus the final business tables. */
async function runWorkload(
  baseUrl: string,
  secret: string,
  pgUrl: string,
  run: string,
): Promise<Transcript> {
  const steps: Step[] = [];
  const target = { baseUrl, jwtSecret: secret };
  const owner = `diff-${run}`;
  const a = new G1Device(target, owner, `diff-a-${run}`);
  const b = new G1Device(target, owner, `diff-b-${run}`);
  const c = new G1Device(target, owner, `diff-c-${run}`);
  const record = (label: string, r: G1Response): G1Response => {
    steps.push({ label, status: r.status, body: r.body });
    return r;
  };
  const push = async (d: G1Device, label: string, sbid: number, rows: G1PushRow[]) =>
    record(label, await d.push(sbid, rows, { chunkRows: 3 }));

  record('capabilities', await a.request('GET', '/sync/capabilities'));
  record(
    'connect a (empty)',
    await a.request('POST', '/sync/connect', '{"has_local_pending_rows":false}'),
  );
  const b1 = await push(a, 'bundle 1 (every table, typed values)', 1, [
    { table: 'users', id: id(1), op: 'INSERT', base: 0, payload: user(1, 'Ann <&> \u2028 é') },
    { table: 'users', id: id(2), op: 'INSERT', base: 0, payload: user(2, 'Bob') },
    { table: 'users', id: id(3), op: 'INSERT', base: 0, payload: user(3, 'Cy') },
    {
      table: 'posts',
      id: id(10),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(10)}","title":"t","content":"c","author_id":"${id(1)}","created_at":null,"updated_at":"2026-01-01T00:00:00.5Z"}`,
    },
    {
      table: 'categories',
      id: id(20),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(20)}","name":"root","parent_id":null}`,
    },
    {
      table: 'categories',
      id: id(21),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(21)}","name":"child","parent_id":"${id(20)}"}`,
    },
    {
      table: 'team_members',
      id: id(31),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(31)}","name":"m","team_id":"${id(30)}"}`,
    },
    {
      table: 'teams',
      id: id(30),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(30)}","name":"team","captain_member_id":"${id(31)}"}`,
    },
    {
      table: 'files',
      id: id(40),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(40)}","name":"f","data":"AAEC/w=="}`,
    },
    {
      table: 'file_reviews',
      id: id(41),
      op: 'INSERT',
      base: 0,
      payload: `{"id":"${id(41)}","review":"ok","file_id":"${id(40)}"}`,
    },
    {
      table: 'typed_rows',
      id: id(50),
      op: 'INSERT',
      base: 0,
      payload: typed(
        50,
        `"note":"é<>","count_value":9007199254740993,"enabled_flag":1,"rating":6.57111473696007,"data":"","created_at":"2026-03-24T10:42:11-08:00"`,
      ),
    },
    {
      table: 'typed_rows',
      id: id(51),
      op: 'INSERT',
      base: 0,
      payload: typed(
        51,
        `"note":null,"count_value":-9007199254740991,"enabled_flag":0,"rating":1e-7,"data":null,"created_at":null`,
      ),
    },
    {
      table: 'typed_rows',
      id: id(52),
      op: 'INSERT',
      base: 0,
      payload: typed(
        52,
        `"note":"x","count_value":9007199254740991,"enabled_flag":1,"rating":123456789012.5,"data":"3q2+7w==","created_at":"2026-03-24T18:42:11.999999Z"`,
      ),
    },
  ]);
  const seq1 = b1.status === 200 ? int(b1.body?.bundle_seq) : 0n;
  await push(a, 'bundle 2 (updates, cascading deletes, insert)', 2, [
    { table: 'users', id: id(1), op: 'UPDATE', base: seq1, payload: user(1, 'Ann 2') },
    { table: 'categories', id: id(20), op: 'DELETE', base: seq1 },
    { table: 'files', id: id(40), op: 'DELETE', base: seq1 },
    {
      table: 'typed_rows',
      id: id(50),
      op: 'UPDATE',
      base: seq1,
      payload: typed(
        50,
        `"note":"é<>","count_value":42,"enabled_flag":0,"rating":0.1,"data":"AA==","created_at":"2026-03-24T10:42:11-08:00"`,
      ),
    },
    { table: 'users', id: id(4), op: 'INSERT', base: 0, payload: user(4, 'Dee') },
  ]);
  record(
    'connect b (remote_authoritative)',
    await b.request('POST', '/sync/connect', '{"has_local_pending_rows":false}'),
  );
  const snap = await b.snapshotAll(4);
  steps.push({ label: 'snapshot session (b)', status: 200, body: snap.session });
  steps.push({
    label: 'snapshot rows (b)',
    status: 200,
    body: [...snap.rows].sort((x, y) =>
      `${x.table}/${JSON.stringify(x.key)}` < `${y.table}/${JSON.stringify(y.key)}` ? -1 : 1,
    ),
  });
  const u2 = snap.rows.find((r) => r.table === 'users' && (r.key as G1Object).id === id(2));
  const u2Version = u2 ? int(u2.row_version) : 0n;
  await push(b, 'bundle 3 (device b update)', 1, [
    { table: 'users', id: id(2), op: 'UPDATE', base: u2Version, payload: user(2, 'Bob by b') },
  ]);
  await push(a, 'stale update → push_conflict', 3, [
    { table: 'users', id: id(2), op: 'UPDATE', base: seq1, payload: user(2, 'Bob by a') },
  ]);
  await push(a, 'insert over a live row → push_conflict', 3, [
    { table: 'users', id: id(3), op: 'INSERT', base: 0, payload: user(3, 'Cy again') },
  ]);
  await push(a, 'update of a deleted row → push_conflict', 3, [
    {
      table: 'categories',
      id: id(20),
      op: 'UPDATE',
      base: seq1,
      payload: `{"id":"${id(20)}","name":"x","parent_id":null}`,
    },
  ]);
  record(
    'replay of bundle 1 → already_committed',
    await a.request('POST', '/sync/push-sessions', '{"source_bundle_id":1,"planned_row_count":13}'),
  );
  record(
    'source sequence gap → source_sequence_out_of_order',
    await a.request('POST', '/sync/push-sessions', '{"source_bundle_id":9,"planned_row_count":1}'),
  );
  record(
    'stale source sequence → history_pruned',
    await a.request('POST', '/sync/push-sessions', '{"source_bundle_id":1,"planned_row_count":0}'),
  );

  record('connect c', await c.request('POST', '/sync/connect', '{"has_local_pending_rows":false}'));
  const pulled = await c.pullAll(0n, 2);
  steps.push({ label: 'pull from 0 (max_bundles 2)', status: 200, body: pulled.bundles });
  for (const bundle of pulled.bundles) {
    const seq = int(bundle.bundle_seq);
    const rows = await c.committedRows(seq, 2);
    steps.push({
      label: `committed rows of bundle ${seq}`,
      status: 200,
      body: { ...rows.meta, rows: rows.rows },
    });
  }

  // Malformed and hostile requests: status and error code must match.
  const bad: [string, string, string?][] = [
    ['GET', '/sync/pull?max_bundles=0'],
    ['GET', '/sync/pull?after_bundle_seq=-1'],
    ['GET', '/sync/pull?after_bundle_seq=abc'],
    ['GET', '/sync/committed-bundles/0/rows'],
    ['GET', '/sync/committed-bundles/999/rows'],
    ['GET', '/sync/committed-bundles/1/rows?max_rows=0'],
    ['POST', `/sync/push-sessions/${id(999)}/chunks`, '{"start_row_ordinal":0,"rows":[]}'],
    ['POST', `/sync/push-sessions/${id(999)}/commit`],
    ['DELETE', `/sync/push-sessions/${id(999)}`],
    ['POST', '/sync/push-sessions', '{"source_bundle_id":0,"planned_row_count":1}'],
    ['POST', '/sync/push-sessions', '{"source_bundle_id":4,"planned_row_count":0}'],
    ['POST', '/sync/push-sessions', 'not json'],
    ['POST', '/sync/connect', ''],
    ['GET', `/sync/snapshot-sessions/${id(999)}`],
    ['DELETE', `/sync/snapshot-sessions/${id(999)}`],
    ['POST', '/sync/snapshot-sessions', '{"unknown":1}'],
    [
      'POST',
      '/sync/snapshot-sessions',
      '{"source_replacement":{"previous_source_id":"other","new_source_id":"n","reason":"history_pruned"}}',
    ],
  ];
  for (const [method, path, body] of bad) {
    record(`${method} ${path} ${body ?? ''}`.trim(), await a.request(method, path, body));
  }
  const created = await a.request(
    'POST',
    '/sync/push-sessions',
    '{"source_bundle_id":4,"planned_row_count":2}',
  );
  const pushId = created.body?.push_id as string;
  const chunk = (rows: string) =>
    a.request(
      'POST',
      `/sync/push-sessions/${pushId}/chunks`,
      `{"start_row_ordinal":0,"rows":[${rows}]}`,
    );
  const badRows: [string, string][] = [
    [
      'unregistered table',
      `{"schema":"business","table":"nope","key":{"id":"${id(60)}"},"op":"INSERT","base_row_version":0,"payload":{"id":"${id(60)}"}}`,
    ],
    [
      'uppercase uuid key',
      `{"schema":"business","table":"users","key":{"id":"${id(60).toUpperCase().replace('0000-4', 'AAAA-4')}"},"op":"INSERT","base_row_version":0,"payload":{"name":"n","email":"e"}}`,
    ],
    [
      'bad op',
      `{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"UPSERT","base_row_version":0,"payload":{"name":"n","email":"e"}}`,
    ],
    [
      'scope column in payload',
      `{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"INSERT","base_row_version":0,"payload":{"name":"n","email":"e","_sync_scope_id":"x"}}`,
    ],
    [
      'payload key differs from row key',
      `{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"INSERT","base_row_version":0,"payload":{"id":"${id(61)}","name":"n","email":"e"}}`,
    ],
    [
      'invalid base64',
      `{"schema":"business","table":"files","key":{"id":"${id(60)}"},"op":"INSERT","base_row_version":0,"payload":{"name":"n","data":"!!"}}`,
    ],
    [
      'duplicate row in chunk',
      `{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"DELETE","base_row_version":1},{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"DELETE","base_row_version":1}`,
    ],
    ['out of order', ''],
  ];
  for (const [label, rows] of badRows) {
    if (label === 'out of order') {
      record(
        `chunk: ${label}`,
        await a.request(
          'POST',
          `/sync/push-sessions/${pushId}/chunks`,
          `{"start_row_ordinal":1,"rows":[{"schema":"business","table":"users","key":{"id":"${id(60)}"},"op":"DELETE","base_row_version":1}]}`,
        ),
      );
    } else {
      record(`chunk: ${label}`, await chunk(rows));
    }
  }
  record(
    'missing source header',
    await new G1Device(target, owner, '').request('GET', '/sync/pull'),
  );

  // An int64 beyond 2^53 in a pushed payload: go-oversync parses payloads through float64,
  // so -2^63 becomes -9223372036854776000 and the commit fails (500); we store it exactly.
  const other = new G1Device(target, `diff-int64-${run}`, `diff-d-${run}`);
  await other.connect(false);
  record(
    'int64 minimum in a payload',
    await other.push(1, [
      {
        table: 'typed_rows',
        id: id(70),
        op: 'INSERT',
        base: 0,
        payload: typed(
          70,
          `"note":null,"count_value":-9223372036854775808,"enabled_flag":0,"rating":null,"data":null,"created_at":null`,
        ),
      },
    ]),
  );

  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  const tables: Record<string, string[]> = {};
  try {
    for (const t of TABLES) {
      const res = await db.query<{ j: string }>(
        `SELECT (to_jsonb(x) - '_sync_scope_id')::text AS j FROM business.${t} x WHERE _sync_scope_id = $1 ORDER BY id`,
        [owner],
      );
      tables[t] = res.rows.map((r) => r.j);
    }
  } finally {
    await db.end();
  }
  return { steps, tables };
}

/**
 * Intended differences: go-oversync behaviour we deliberately do not copy. Each maps a step
 * label to what the reference answers, what we answer, and why.
 */
const INTENDED: Record<string, { reference: number; ours: number; why: string }> = {
  'int64 minimum in a payload': {
    reference: 500,
    ours: 200,
    why: 'go-oversync re-encodes pushed payloads through float64; int64 values beyond 2^53 are rounded and the extremes overflow bigint (500 push_session_commit_failed). We store them exactly.',
  },
};

const describeWithReference = REF_URL && REF_PG ? describe : describe.skip;
if (!REF_URL || !REF_PG) {
  console.log(
    'interop: differential test skipped — no reference server (set OVERSYNC_REFERENCE_URL, OVERSYNC_REFERENCE_JWT_SECRET, OVERSYNC_REFERENCE_PG_URL; see interop/README.md)',
  );
}

describeWithReference('differential: go-oversync example server vs our G1 mount', () => {
  let ours: OurServer;
  let ref: Transcript;
  let mine: Transcript;

  beforeAll(async () => {
    ours = await startOurServer({ adminUrl: ADMIN_PG, jwtSecret: REF_SECRET });
    const run = randomBytes(4).toString('hex');
    ref = await runWorkload(REF_URL as string, REF_SECRET, REF_PG as string, run);
    mine = await runWorkload(ours.baseUrl, REF_SECRET, ours.pgUrl, run);
  }, 120_000);
  afterAll(async () => {
    await ours?.close();
  });

  it('ran the same exchanges on both servers', () => {
    expect(mine.steps.map((s) => s.label)).toEqual(ref.steps.map((s) => s.label));
  });

  it.each(Array.from({ length: 60 }, (_, i) => i))('exchange %i matches', (i) => {
    const r = ref.steps[i];
    const m = mine.steps[i];
    if (!r || !m) return expect(m).toBe(r);
    const intended = INTENDED[r.label];
    if (intended) {
      expect({ label: r.label, reference: r.status, ours: m.status }).toEqual({
        label: r.label,
        reference: intended.reference,
        ours: intended.ours,
      });
      return;
    }
    if (r.label === 'capabilities') {
      const strip = (b: LosslessValue | undefined) => {
        const o = { ...(b as G1Object) };
        delete o.bundle_limits;
        return mask(o);
      };
      expect(strip(m.body), r.label).toEqual(strip(r.body));
      return;
    }
    expect({ label: m.label, status: m.status, body: mask(m.body) }).toEqual({
      label: r.label,
      status: r.status,
      body: mask(r.body),
    });
  });

  it.each(TABLES)('business table %s ends identical', (table) => {
    expect(mine.tables[table]).toEqual(ref.tables[table]);
  });
});
