import { isErrorCode } from '@oversync/protocol';
import { BACKENDS, ins, startTestServer, type TestServer, uuid } from '@oversync/test-kit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Whatever a client sends, the answer is a well-formed 4xx protocol error (never a 5xx) and
// nothing changes. State is compared through a fingerprint of every sync and business table.

const USER = 'hostile-user';
const SOURCE = 'hostile-src';

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const weirdString = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    ' ',
    '-1',
    '0',
    '1e3',
    '9223372036854775808',
    'NaN',
    '\u0000',
    '%00',
    '../',
    'null',
    '{}',
  ),
);
const row = fc.record(
  {
    schema: fc.oneof(fc.constant('business'), weirdString, jsonValue),
    table: fc.oneof(fc.constantFrom('users', 'typed_rows', 'files'), weirdString, jsonValue),
    key: fc.oneof(fc.record({ id: fc.oneof(fc.uuid(), weirdString, jsonValue) }), jsonValue),
    op: fc.oneof(fc.constantFrom('INSERT', 'UPDATE', 'DELETE', 'insert'), weirdString, jsonValue),
    base_row_version: fc.oneof(fc.integer(), fc.double(), weirdString, jsonValue),
    payload: fc.oneof(
      fc.dictionary(
        fc.oneof(
          fc.constantFrom('id', 'name', 'email', 'count_value', 'rating', 'data', '_sync_scope_id'),
          fc.string(),
        ),
        fc.oneof(weirdString, jsonValue),
      ),
      jsonValue,
    ),
  },
  { requiredKeys: [] },
);

type Attack = { method: string; path: string; body?: string; headers?: Record<string, string> };

const pathSegment = fc.oneof(
  fc.uuid(),
  weirdString.map(encodeURIComponent),
  fc.constant('00000000-0000-4000-8000-000000000000'),
);
const query = fc
  .dictionary(
    fc.constantFrom(
      'after_bundle_seq',
      'max_bundles',
      'target_bundle_seq',
      'after_row_ordinal',
      'max_rows',
      'max_bytes',
    ),
    weirdString,
  )
  .map((q) => new URLSearchParams(q).toString());

const attack: fc.Arbitrary<Attack> = fc.oneof(
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/sync/connect'),
    body: jsonValue.map((v) => JSON.stringify(v)),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/sync/push-sessions'),
    body: fc
      .record(
        {
          source_bundle_id: fc.oneof(fc.integer(), fc.double(), weirdString),
          planned_row_count: fc.oneof(fc.integer(), weirdString, jsonValue),
          canonical_request_hash: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/)),
          initialization_id: fc.oneof(fc.uuid(), weirdString),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  }),
  fc.record({
    method: fc.constant('POST'),
    path: pathSegment.map((id) => `/sync/push-sessions/${id}/chunks`),
    body: fc
      .record(
        {
          start_row_ordinal: fc.oneof(fc.integer(), weirdString),
          rows: fc.oneof(fc.array(row, { maxLength: 4 }), jsonValue),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  }),
  fc.record({
    method: fc.constantFrom('POST', 'DELETE'),
    path: pathSegment.map((id) => `/sync/push-sessions/${id}/commit`),
  }),
  fc.record({
    method: fc.constant('DELETE'),
    path: pathSegment.map((id) => `/sync/push-sessions/${id}`),
  }),
  fc.record({
    method: fc.constant('GET'),
    path: fc.tuple(pathSegment, query).map(([s, q]) => `/sync/committed-bundles/${s}/rows?${q}`),
  }),
  fc.record({ method: fc.constant('GET'), path: query.map((q) => `/sync/pull?${q}`) }),
  fc.record({
    method: fc.constant('POST'),
    path: fc.constant('/sync/snapshot-sessions'),
    body: jsonValue.map((v) => JSON.stringify(v)),
  }),
  fc.record({
    method: fc.constantFrom('GET', 'DELETE'),
    path: fc.tuple(pathSegment, query).map(([s, q]) => `/sync/snapshot-sessions/${s}?${q}`),
  }),
  fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH'),
    path: weirdString.map((s) => `/sync/${encodeURIComponent(s)}`),
  }),
  fc.record({
    method: fc.constantFrom('POST'),
    path: fc.constantFrom('/sync/connect', '/sync/push-sessions', '/sync/snapshot-sessions'),
    body: fc.string(),
  }),
);

async function fingerprint(server: TestServer): Promise<string> {
  const rows = await server.database.query<{ f: string }>(
    `SELECT concat_ws('|',
       (SELECT count(*) FROM sync.bundle_log), (SELECT count(*) FROM sync.bundle_rows),
       (SELECT count(*) FROM sync.row_state), (SELECT string_agg(user_id || ':' || next_bundle_seq || ':' || scope_state, ',' ORDER BY user_id) FROM sync.user_state),
       (SELECT count(*) FROM sync.source_state), (SELECT count(*) FROM business.users), (SELECT count(*) FROM business.typed_rows)) AS f`,
  );
  return rows[0]?.f ?? '';
}

describe.each(BACKENDS)('hostile and malformed input [%s]', (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      serviceOptions: { retention: { pruneIntervalMs: 0 } },
    });
    await server.initEmpty(USER, SOURCE);
    await server.pushOk(USER, SOURCE, 1, [ins('users', uuid(1), { name: 'Ada', email: 'a@x' })]);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers every malformed request with a 4xx protocol error and changes nothing', async () => {
    const before = await fingerprint(server);
    await fc.assert(
      fc.asyncProperty(attack, async (a) => {
        const res = await server.raw(a.method, a.path, {
          user: USER,
          source: SOURCE,
          ...(a.body !== undefined
            ? { rawBody: a.body, headers: { 'content-type': 'application/json' } }
            : {}),
        });
        const text = await res.text();
        if (res.status === 200 || res.status === 204) return; // a harmless valid request (e.g. pull)
        expect(
          res.status,
          `${a.method} ${a.path} ${a.body ?? ''} → ${res.status} ${text}`,
        ).toBeGreaterThanOrEqual(400);
        expect(res.status, `${a.method} ${a.path} ${a.body ?? ''} → ${text}`).toBeLessThan(500);
        const body = JSON.parse(text) as { error: unknown; message: unknown };
        expect(isErrorCode(body.error)).toBe(true);
        expect(typeof body.message).toBe('string');
      }),
      { numRuns: 400 },
    );
    // Connect may legitimately initialize nothing here (the scope is already initialized), and
    // push sessions/snapshots are staging state: the committed data must be untouched.
    expect(await fingerprint(server)).toBe(before);
  });

  it('never lets forged push or snapshot ids reach another user', async () => {
    const victim = 'victim-user';
    await server.initEmpty(victim, 'victim-src');
    const staged = await server.pushBundle(
      victim,
      'victim-src',
      1,
      [ins('users', uuid(2), { name: 'V', email: 'v@x' })],
      {
        commit: false,
      },
    );
    const pushId = staged.pushId as string;
    const snap = await server.req('POST', '/sync/snapshot-sessions', {
      user: victim,
      source: 'victim-src',
    });
    const before = await fingerprint(server);
    for (const [method, path] of [
      ['POST', `/sync/push-sessions/${pushId}/chunks`],
      ['POST', `/sync/push-sessions/${pushId}/commit`],
      ['DELETE', `/sync/push-sessions/${pushId}`],
      ['GET', `/sync/snapshot-sessions/${snap.json.snapshot_id}`],
      ['DELETE', `/sync/snapshot-sessions/${snap.json.snapshot_id}`],
    ] as const) {
      const r = await server.req(method, path, {
        user: USER,
        source: 'victim-src',
        body:
          method === 'POST' && path.endsWith('chunks')
            ? { start_row_ordinal: 0, rows: [] }
            : undefined,
      });
      expect([400, 403], `${method} ${path} → ${r.text}`).toContain(r.status);
    }
    expect(await fingerprint(server)).toBe(before);
    const commit = await server.commit(victim, 'victim-src', pushId);
    expect(commit.status).toBe(200);
  });
});
