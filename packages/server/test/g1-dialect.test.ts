/**
 * The G1 dialect end to end (go-oversync @1f1118f wire, protocol.md §1–6) on go-oversync's
 * example schema, and a G2 mount over the same database at the same time.
 */

import { randomUUID } from 'node:crypto';
import { REFERENCE_SCHEMA_SQL } from '@oversync/cli';
import {
  type G1HashRow,
  g1BundleHash,
  JsonNumber,
  type LosslessValue,
  parseLosslessJson,
} from '@oversync/protocol';
import type { SyncService } from '@oversync/server';
import {
  BACKENDS,
  type Json,
  type Res,
  startTestServer,
  TestClient,
  type TestServer,
  uniqueUser,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok } from './helpers.js';

type Obj = { [k: string]: LosslessValue };

/** G1 limits go-oversync advertises; nothing else may appear in bundle_limits. */
const G1_LIMIT_KEYS = new Set([
  'max_rows_per_bundle',
  'max_bytes_per_bundle',
  'max_bundles_per_pull',
  'default_rows_per_push_chunk',
  'max_rows_per_push_chunk',
  'push_session_ttl_seconds',
  'default_rows_per_committed_bundle_chunk',
  'max_rows_per_committed_bundle_chunk',
  'default_rows_per_snapshot_chunk',
  'max_rows_per_snapshot_chunk',
  'snapshot_session_ttl_seconds',
  'max_rows_per_snapshot_session',
  'max_bytes_per_snapshot_session',
  'initialization_lease_ttl_seconds',
]);

function typedRow(id: string, over: Record<string, string> = {}): string {
  const cols: Record<string, string> = {
    id: JSON.stringify(id),
    name: '"a<b & c>"',
    note: 'null',
    count_value: '9007199254740993',
    enabled_flag: '1',
    rating: '6.57111473696007',
    data: '"AAEC/w=="',
    created_at: '"2026-03-24T18:42:11.5Z"',
    ...over,
  };
  return `{${Object.entries(cols)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

function rowJson(
  table: string,
  id: string,
  op: 'INSERT' | 'UPDATE' | 'DELETE',
  base: number,
  payload?: string,
): string {
  return `{"schema":"business","table":"${table}","key":{"id":"${id}"},"op":"${op}","base_row_version":${base}${
    payload === undefined ? '' : `,"payload":${payload}`
  }}`;
}

/** Recomputes a G1 bundle_hash the way the Go client does: from the rows as it parses them. */
async function clientHash(rows: LosslessValue[]): Promise<string> {
  const hashRows: G1HashRow[] = rows.map((r) => {
    const o = r as Obj;
    return {
      schema: o.schema as string,
      table: o.table as string,
      key: o.key as Record<string, string>,
      op: o.op as 'INSERT' | 'UPDATE' | 'DELETE',
      rowVersion: (o.row_version as JsonNumber).text,
      payload: o.payload ?? null,
    };
  });
  return (await g1BundleHash(hashRows)).bundleHash;
}

describe.each(BACKENDS)('G1 dialect [%s]', (backend) => {
  let t: TestServer;
  let g2: TestClient;

  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: REFERENCE_SCHEMA_SQL,
      serviceOptions: { dialect: 'g1', appName: 'nethttp-server-example' },
    });
    // A G2 mount of the same service: same database, same state, other wire.
    const handler = t.service.handler({ dialect: 'g2', basePath: '/g2' });
    const g2Client = new TestClient({ fetch: handler } as unknown as SyncService);
    const prefix = (path: string) => `/g2${path}`;
    g2 = Object.assign(Object.create(g2Client), {
      raw: (m: string, p: string, o: object) => g2Client.raw(m, prefix(p), o),
      req: (m: string, p: string, o: object) => g2Client.req(m, prefix(p), o),
    }) as TestClient;
  });
  afterAll(async () => {
    await t?.close();
  });

  const req = (method: string, path: string, user: string, source: string, rawBody?: string) =>
    t.req(method, path, {
      user,
      source,
      ...(rawBody === undefined
        ? {}
        : { rawBody, headers: { 'content-type': 'application/json' } }),
    });

  async function connectEmpty(user: string, source: string): Promise<void> {
    const r = await req('POST', '/sync/connect', user, source, '{"has_local_pending_rows":false}');
    expect(ok(r).resolution).toBe('initialize_empty');
  }

  /** Pushes rows (JSON texts) as one G1 bundle; returns the commit response. */
  async function push(user: string, source: string, sbid: number, rows: string[]): Promise<Res> {
    const created = await req(
      'POST',
      '/sync/push-sessions',
      user,
      source,
      `{"source_bundle_id":${sbid},"planned_row_count":${rows.length}}`,
    );
    const id = ok(created).push_id as string;
    const chunk = await req(
      'POST',
      `/sync/push-sessions/${id}/chunks`,
      user,
      source,
      `{"start_row_ordinal":0,"rows":[${rows.join(',')}]}`,
    );
    expect(ok(chunk)).toEqual({ push_id: id, next_expected_row_ordinal: rows.length });
    return req('POST', `/sync/push-sessions/${id}/commit`, user, source);
  }

  it('capabilities: G1 limits only, Go encoder framing', async () => {
    const r = await req('GET', '/sync/capabilities', uniqueUser('g1cap'), 'src');
    const caps = ok(r);
    expect(r.text.endsWith('}\n')).toBe(true);
    expect(caps.features.connect_lifecycle).toBe(true);
    expect(caps.features.bundle_change_watch).toBe(true);
    expect(Object.keys(caps.bundle_limits).filter((k) => !G1_LIMIT_KEYS.has(k))).toEqual([]);
    expect(caps.bundle_limits.max_rows_per_push_chunk).toBe(5000);
    expect(caps.registered_tables).toEqual([...caps.registered_tables].sort());
    expect(caps.registered_tables).toHaveLength(8);
  });

  it('push → commit → committed rows → pull: JSON numbers, Go hash, DELETE without payload', async () => {
    const user = uniqueUser('g1flow');
    const source = randomUUID();
    await connectEmpty(user, source);
    const created = await req(
      'POST',
      '/sync/push-sessions',
      user,
      source,
      '{"source_bundle_id":1,"planned_row_count":1}',
    );
    // Go omitempty: a staging session has no next_expected_row_ordinal and no request hash.
    expect(Object.keys(ok(created)).sort()).toEqual(['planned_row_count', 'push_id', 'status']);
    await req('DELETE', `/sync/push-sessions/${created.json.push_id}`, user, source);

    const a = randomUUID();
    const b = randomUUID();
    const commit = await push(user, source, 1, [
      rowJson('typed_rows', a, 'INSERT', 0, typedRow(a)),
      rowJson('typed_rows', b, 'INSERT', 0, typedRow(b, { note: '"n"' })),
    ]);
    const c = ok(commit);
    expect(Object.keys(c).sort()).toEqual([
      'bundle_hash',
      'bundle_seq',
      'row_count',
      'source_bundle_id',
      'source_id',
    ]);
    expect(commit.text.endsWith('}\n')).toBe(true);
    // Stored exactly: int64 beyond 2^53 survives in PostgreSQL.
    const stored = await t.database.db.query<{ v: string }>(
      `SELECT count_value::text AS v FROM business.typed_rows WHERE id = $1::uuid`,
      [a],
    );
    expect(stored.rows[0]?.v).toBe('9007199254740993');

    const del = ok(await push(user, source, 2, [rowJson('typed_rows', b, 'DELETE', c.bundle_seq)]));

    const committed = await req(
      'GET',
      `/sync/committed-bundles/${c.bundle_seq}/rows`,
      user,
      source,
    );
    expect(committed.text).toContain('"name":"a\\u003cb \\u0026 c\\u003e"');
    const parsed = parseLosslessJson(committed.text) as Obj;
    const rows = parsed.rows as Obj[];
    expect(rows).toHaveLength(2);
    const payload = rows[0]?.payload as Obj;
    // Bundle payloads carry numbers through float64, exactly as go-oversync's bundle log.
    expect(payload.count_value).toEqual(new JsonNumber('9007199254740992'));
    expect(payload.enabled_flag).toEqual(new JsonNumber('1'));
    expect(payload.created_at).toBe('2026-03-24T18:42:11.5+00:00');
    expect(await clientHash(rows)).toBe(c.bundle_hash);
    expect(parsed.bundle_hash).toBe(c.bundle_hash);

    const pulled = await req('GET', '/sync/pull?after_bundle_seq=0', user, source);
    // Go's encoder escapes HTML characters everywhere in the body.
    expect(pulled.text).not.toMatch(/[<>&\u2028\u2029]/);
    expect(committed.text).not.toMatch(/[<>&\u2028\u2029]/);
    const pull = parseLosslessJson(pulled.text) as Obj;
    const bundles = pull.bundles as Obj[];
    expect(bundles.map((x) => (x.bundle_seq as JsonNumber).text)).toEqual([
      String(c.bundle_seq),
      String(del.bundle_seq),
    ]);
    for (const bundle of bundles) {
      expect(await clientHash(bundle.rows as LosslessValue[])).toBe(bundle.bundle_hash);
    }
    const deleteRow = ((bundles[1] as Obj).rows as Obj[])[0] as Obj;
    expect(Object.keys(deleteRow).sort()).toEqual(['key', 'op', 'row_version', 'schema', 'table']);
    expect(bundles[1]?.bundle_hash).toBe(del.bundle_hash);

    // A repeated tuple is already_committed with the G1 hash.
    const replay = await req(
      'POST',
      '/sync/push-sessions',
      user,
      source,
      '{"source_bundle_id":1,"planned_row_count":2}',
    );
    expect(ok(replay)).toEqual({
      status: 'already_committed',
      bundle_seq: c.bundle_seq,
      source_id: source,
      source_bundle_id: 1,
      row_count: 2,
      bundle_hash: c.bundle_hash,
    });
  });

  it('snapshot: exact numbers, jsonb byte_count, five chunk members', async () => {
    const user = uniqueUser('g1snap');
    const source = randomUUID();
    await connectEmpty(user, source);
    const u = randomUUID();
    ok(
      await push(user, source, 1, [
        rowJson(
          'users',
          u,
          'INSERT',
          0,
          `{"id":"${u}","name":"Ann","email":"a@x","created_at":null,"updated_at":"2026-01-01T00:00:00Z"}`,
        ),
        rowJson('typed_rows', u, 'INSERT', 0, typedRow(u)),
      ]),
    );
    const created = await req('POST', '/sync/snapshot-sessions', user, source);
    const s = ok(created);
    expect(Object.keys(s).sort()).toEqual([
      'byte_count',
      'expires_at',
      'row_count',
      'snapshot_bundle_seq',
      'snapshot_id',
    ]);
    expect(s.row_count).toBe(2);
    const chunk = await req(
      'GET',
      `/sync/snapshot-sessions/${s.snapshot_id}?after_row_ordinal=0&max_rows=10&max_bytes=1`,
      user,
      source,
    );
    const parsed = parseLosslessJson(chunk.text) as Obj;
    expect(Object.keys(parsed).sort()).toEqual([
      'has_more',
      'next_row_ordinal',
      'rows',
      'snapshot_bundle_seq',
      'snapshot_id',
    ]);
    const rows = parsed.rows as Obj[];
    expect(rows).toHaveLength(2);
    const typed = rows.find((r) => r.table === 'typed_rows') as Obj;
    // Snapshots carry PostgreSQL's exact digits (go-oversync sends the jsonb text).
    expect((typed.payload as Obj).count_value).toEqual(new JsonNumber('9007199254740993'));
    // byte_count: go-oversync sums the stored jsonb text lengths; rows with bytea are stored
    // as Go's encoder writes them (compact, <>& escaped). Computed here independently.
    const expected = await t.database.db.query<{ n: string }>(
      `SELECT (SELECT sum(octet_length((to_jsonb(u) - '_sync_scope_id')::text)) FROM business.users u WHERE _sync_scope_id = $1)
            + (SELECT sum(octet_length(replace(replace((to_jsonb(r) - '_sync_scope_id' - 'data')::text, '": ', '":'), ', "', ',"')) + length(',"data":"AAEC/w=="')
                        + 5 * (length(r.name) - length(translate(r.name, '<>&', ''))))
                 FROM business.typed_rows r WHERE _sync_scope_id = $1) AS n`,
      [user],
    );
    expect(String(s.byte_count)).toBe(String(expected.rows[0]?.n));
  });

  it('conflicts carry the server row in G1 form; errors are {error, message}', async () => {
    const user = uniqueUser('g1conf');
    const source = randomUUID();
    await connectEmpty(user, source);
    const id = randomUUID();
    const first = ok(
      await push(user, source, 1, [rowJson('typed_rows', id, 'INSERT', 0, typedRow(id))]),
    );
    const conflict = await push(user, source, 2, [
      rowJson('typed_rows', id, 'UPDATE', 0, typedRow(id)),
    ]);
    expectError(conflict, 409, 'push_conflict');
    const body = parseLosslessJson(conflict.text) as Obj;
    expect(Object.keys(body).sort()).toEqual(['conflict', 'error', 'message']);
    const details = body.conflict as Obj;
    expect(details.server_row_version).toEqual(new JsonNumber(String(first.bundle_seq)));
    expect((details.server_row as Obj).count_value).toEqual(new JsonNumber('9007199254740993'));

    // Out-of-order chunk: G2 adds next_expected_row_ordinal; G1 bodies have two members.
    const other = randomUUID();
    const created = ok(
      await req(
        'POST',
        '/sync/push-sessions',
        user,
        source,
        '{"source_bundle_id":2,"planned_row_count":1}',
      ),
    );
    const bad = await req(
      'POST',
      `/sync/push-sessions/${created.push_id}/chunks`,
      user,
      source,
      `{"start_row_ordinal":5,"rows":[${rowJson('typed_rows', other, 'INSERT', 0, typedRow(other))}]}`,
    );
    expectError(bad, 409, 'push_chunk_out_of_order');
    expect(Object.keys(bad.json).sort()).toEqual(['error', 'message']);
    expect(bad.text.endsWith('}\n')).toBe(true);

    // A checkpoint ahead of the server: G1 has no checkpoint_ahead, the client must rebuild.
    expectError(
      await req('GET', '/sync/pull?after_bundle_seq=99', user, source),
      409,
      'history_pruned',
    );
  });

  it('orders each cascade right after the uploaded row that caused it (as go-oversync does)', async () => {
    const user = uniqueUser('g1cascade');
    const source = randomUUID();
    await connectEmpty(user, source);
    const [root, child, u] = [randomUUID(), randomUUID(), randomUUID()];
    const c1 = ok(
      await push(user, source, 1, [
        rowJson('categories', root, 'INSERT', 0, `{"id":"${root}","name":"root","parent_id":null}`),
        rowJson(
          'categories',
          child,
          'INSERT',
          0,
          `{"id":"${child}","name":"child","parent_id":"${root}"}`,
        ),
        rowJson(
          'users',
          u,
          'INSERT',
          0,
          `{"id":"${u}","name":"n","email":"e","created_at":null,"updated_at":null}`,
        ),
      ]),
    );
    const c2 = ok(
      await push(user, source, 2, [
        rowJson('categories', root, 'DELETE', c1.bundle_seq),
        rowJson(
          'users',
          u,
          'UPDATE',
          c1.bundle_seq,
          `{"id":"${u}","name":"n2","email":"e","created_at":null,"updated_at":null}`,
        ),
      ]),
    );
    const rows = ok(await req('GET', `/sync/committed-bundles/${c2.bundle_seq}/rows`, user, source))
      .rows as Json[];
    expect(rows.map((r) => `${r.table}:${r.key.id}:${r.op}`)).toEqual([
      `categories:${root}:DELETE`,
      `categories:${child}:DELETE`,
      `users:${u}:UPDATE`,
    ]);
  });

  it('rejects values that do not fit the column, and hostile bodies, changing nothing', async () => {
    const user = uniqueUser('g1bad');
    const source = randomUUID();
    await connectEmpty(user, source);
    const created = ok(
      await req(
        'POST',
        '/sync/push-sessions',
        user,
        source,
        '{"source_bundle_id":1,"planned_row_count":1}',
      ),
    );
    const chunk = (rows: string) =>
      req('POST', `/sync/push-sessions/${created.push_id}/chunks`, user, source, rows);
    const id = randomUUID();
    const overrides: Record<string, string>[] = [
      { count_value: '1.5' },
      { count_value: '9223372036854775808' },
      { name: '7' },
      { enabled_flag: 'true' },
      { rating: '1e400' },
    ];
    for (const over of overrides) {
      const r = await chunk(
        `{"start_row_ordinal":0,"rows":[${rowJson('typed_rows', id, 'INSERT', 0, typedRow(id, over))}]}`,
      );
      expectError(r, 400, 'push_chunk_invalid');
    }
    expectError(await chunk('{"start_row_ordinal":0,"rows":[{]}'), 400, 'invalid_request');
    expectError(await chunk(`${'['.repeat(100_000)}`), 400, 'invalid_request');
    const counted = await t.database.db.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM business.typed_rows WHERE _sync_scope_id = $1',
      [user],
    );
    expect(counted.rows[0]?.n).toBe('0');
  });

  it('queues snapshot requests beyond the admission limit instead of answering 429', async () => {
    const narrow = await t.withService({
      dialect: 'g1',
      limits: { max_concurrent_snapshot_builds: 1, max_concurrent_snapshot_chunk_requests: 1 },
    });
    const user = uniqueUser('g1queue');
    const source = randomUUID();
    await connectEmpty(user, source);
    ok(await push(user, source, 1, [rowJson('typed_rows', source, 'INSERT', 0, typedRow(source))]));
    const created = await Promise.all(
      Array.from({ length: 6 }, () =>
        narrow.req('POST', '/sync/snapshot-sessions', { user, source }),
      ),
    );
    expect(created.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const chunks = await Promise.all(
      created.map((r) =>
        narrow.req('GET', `/sync/snapshot-sessions/${r.json.snapshot_id}`, { user, source }),
      ),
    );
    expect(chunks.map((r) => r.json.rows.length)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('one database, two wires: G2 sees the same bundles with string numbers', async () => {
    const user = uniqueUser('g1g2');
    const source = randomUUID();
    await connectEmpty(user, source);
    const id = randomUUID();
    const c = ok(
      await push(user, source, 1, [rowJson('typed_rows', id, 'INSERT', 0, typedRow(id))]),
    );
    const viaG2 = await g2.req('GET', '/sync/pull?after_bundle_seq=0', { user, source: 'g2-src' });
    const bundle = ok(viaG2).bundles[0] as Json;
    expect(bundle.bundle_seq).toBe(c.bundle_seq);
    expect(bundle.rows[0].payload.count_value).toBe('9007199254740993');
    expect(viaG2.text.endsWith('\n')).toBe(false);
    const caps = ok(await g2.req('GET', '/sync/capabilities', { user, source: 'g2-src' }));
    expect(caps.bundle_limits.max_bytes_per_snapshot_chunk).toBeGreaterThan(0);
  });
});
