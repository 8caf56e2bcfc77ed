/**
 * What a server must do so that go-oversync's Go `oversqlite` client works unchanged
 * (protocol.md §6.1, items 1–17), checked against our G1 mount over real HTTP with the
 * same wire client the differential test uses. One `describe` per checklist item.
 */

import { randomUUID } from 'node:crypto';
import type { JsonNumber } from '@oversync/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G1Device, type G1Object, type G1PushRow, g1RowsHash, g1Token, int } from './g1-client.js';
import { type OurServer, startOurServer } from './our-server.js';

const ADMIN_PG = process.env.OVERSYNC_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'interop-checklist-secret';
const USER_COLUMNS = ['created_at', 'email', 'id', 'name', 'updated_at'];

let ours: OurServer;
beforeAll(async () => {
  ours = await startOurServer({ adminUrl: ADMIN_PG, jwtSecret: SECRET });
});
afterAll(async () => {
  await ours?.close();
});

const device = (user: string, source: string = randomUUID()) =>
  new G1Device({ baseUrl: ours.baseUrl, jwtSecret: SECRET }, user, source);
const newUser = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const userRow = (
  id: string,
  name: string,
  base: number | bigint = 0,
  op: 'INSERT' | 'UPDATE' = 'INSERT',
): G1PushRow => ({
  table: 'users',
  id,
  op,
  base,
  payload: `{"id":"${id}","name":${JSON.stringify(name)},"email":"${name}@x","created_at":null,"updated_at":null}`,
});

/** A connected (initialized) device. */
async function ready(label: string): Promise<G1Device> {
  const d = device(newUser(label));
  expect((await d.connect(false)).resolution).toBe('initialize_empty');
  return d;
}

async function commit(
  d: G1Device,
  sbid: number,
  rows: G1PushRow[],
  chunkRows?: number,
): Promise<G1Object> {
  const r = await d.push(sbid, rows, chunkRows === undefined ? {} : { chunkRows });
  expect(r.status, r.text).toBe(200);
  return r.body as G1Object;
}

describe('1. the twelve /sync routes under the base URL; capabilities and connect never 404/405/501', () => {
  it('answers every route with a JSON protocol response', async () => {
    const d = await ready('routes');
    const id = randomUUID();
    const routes: [string, string, string?][] = [
      ['GET', '/sync/capabilities'],
      ['POST', '/sync/connect', '{"has_local_pending_rows":false}'],
      ['POST', '/sync/push-sessions', '{"source_bundle_id":1,"planned_row_count":1}'],
      ['POST', `/sync/push-sessions/${id}/chunks`, '{"start_row_ordinal":0,"rows":[]}'],
      ['POST', `/sync/push-sessions/${id}/commit`],
      ['DELETE', `/sync/push-sessions/${id}`],
      ['GET', '/sync/committed-bundles/1/rows'],
      ['GET', '/sync/pull'],
      ['POST', '/sync/snapshot-sessions'],
      ['GET', `/sync/snapshot-sessions/${id}`],
      ['DELETE', `/sync/snapshot-sessions/${id}`],
    ];
    for (const [method, path, body] of routes) {
      const r = await d.request(method, path, body);
      expect([404, 405, 501].includes(r.status) && path.endsWith('capabilities'), path).toBe(false);
      expect(r.status === 404 ? r.body?.error : 'x', `${method} ${path}`).not.toBe('not_found');
      if (r.status !== 204) expect(r.text.endsWith('\n'), `${method} ${path}`).toBe(true);
    }
  });
});

describe('2. bearer token + Oversync-Source-ID; everything scoped per user', () => {
  it('refuses a missing token (401) and a missing source id (400 invalid_request)', async () => {
    const res = await fetch(`${ours.baseUrl}/sync/pull`, {
      headers: { 'oversync-source-id': 's' },
    });
    expect(res.status).toBe(401);
    const r = await device(newUser('nosrc'), ' ').request('GET', '/sync/pull');
    expect([r.status, r.body?.error]).toEqual([400, 'invalid_request']);
  });

  it('another user cannot read or write a bundle, push session or snapshot by forging ids', async () => {
    const a = await ready('iso-a');
    const b = await ready('iso-b');
    const c = await commit(a, 1, [userRow(randomUUID(), 'secret')]);
    const created = await a.ok(
      'POST',
      '/sync/push-sessions',
      '{"source_bundle_id":2,"planned_row_count":1}',
    );
    const snap = await a.ok('POST', '/sync/snapshot-sessions');
    const rowsOfA = await b.request('GET', `/sync/committed-bundles/${int(c.bundle_seq)}/rows`);
    expect(rowsOfA.text).not.toContain('secret');
    expect(rowsOfA.status).toBeGreaterThanOrEqual(400);
    const chunk = await b.request(
      'POST',
      `/sync/push-sessions/${created.push_id}/chunks`,
      `{"start_row_ordinal":0,"rows":[${b.rowJson(userRow(randomUUID(), 'x'))}]}`,
    );
    expect([chunk.status, chunk.body?.error]).toEqual([403, 'push_session_forbidden']);
    const snapOfA = await b.request('GET', `/sync/snapshot-sessions/${snap.snapshot_id}`);
    expect([snapOfA.status, snapOfA.body?.error]).toEqual([403, 'snapshot_session_forbidden']);
    expect((await b.pullAll()).bundles).toEqual([]);
  });
});

describe('3. capabilities', () => {
  it('advertises connect_lifecycle and bundle_change_watch, G1 limits only', async () => {
    const caps = await device(newUser('caps')).ok('GET', '/sync/capabilities');
    const features = caps.features as G1Object;
    expect(features.connect_lifecycle).toBe(true);
    expect(features.bundle_change_watch).toBe(true);
    expect(caps.protocol_version).toBe('v1');
    expect(Object.keys(caps.bundle_limits as G1Object)).not.toContain(
      'max_bytes_per_snapshot_chunk',
    );
  });
});

describe('4. connect resolutions', () => {
  it('initialize_local with a lease; retry_later for another source; remote_authoritative after the seed', async () => {
    const user = newUser('connect');
    const a = device(user);
    const b = device(user);
    const local = await a.connect(true);
    expect(local.resolution).toBe('initialize_local');
    expect(local.initialization_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(local.lease_expires_at).toMatch(/Z$/);
    const wait = await b.connect(true);
    expect(wait.resolution).toBe('retry_later');
    expect(int(wait.retry_after_seconds)).toBeGreaterThanOrEqual(1n);
    const seed = await a.push(1, [userRow(randomUUID(), 'seed')], {
      initializationId: local.initialization_id as string,
    });
    expect(seed.status, seed.text).toBe(200);
    expect((await b.connect(false)).resolution).toBe('remote_authoritative');
  });
});

describe('5. push session create', () => {
  it('staging shape, already_committed with fetchable rows, sequence errors', async () => {
    const d = await ready('create');
    const staging = await d.ok(
      'POST',
      '/sync/push-sessions',
      '{"source_bundle_id":1,"planned_row_count":3}',
    );
    expect(Object.keys(staging).sort()).toEqual(['planned_row_count', 'push_id', 'status']);
    const c = await commit(d, 1, [userRow(randomUUID(), 'a')]);
    const replay = await d.ok(
      'POST',
      '/sync/push-sessions',
      '{"source_bundle_id":1,"planned_row_count":1}',
    );
    expect(replay).toEqual({ status: 'already_committed', ...c });
    await d.committedRows(int(c.bundle_seq));
    const gap = await d.request(
      'POST',
      '/sync/push-sessions',
      '{"source_bundle_id":5,"planned_row_count":1}',
    );
    expect([gap.status, gap.body?.error]).toEqual([409, 'source_sequence_out_of_order']);
  });
});

describe('6. chunks', () => {
  it('accepts 1000- and 5000-row chunks and answers {push_id, next_expected_row_ordinal}', async () => {
    const d = await ready('chunks');
    const rows = Array.from({ length: 6000 }, (_, i) => userRow(randomUUID(), `n${i}`));
    const c = await commit(d, 1, rows.slice(0, 1000), 1000);
    expect(int(c.row_count)).toBe(1000n);
    const c2 = await commit(d, 2, rows.slice(1000), 5000);
    expect(int(c2.row_count)).toBe(5000n);
  });

  it('enforces order', async () => {
    const d = await ready('order');
    const s = await d.ok(
      'POST',
      '/sync/push-sessions',
      '{"source_bundle_id":1,"planned_row_count":2}',
    );
    const r = await d.request(
      'POST',
      `/sync/push-sessions/${s.push_id}/chunks`,
      `{"start_row_ordinal":1,"rows":[${d.rowJson(userRow(randomUUID(), 'x'))}]}`,
    );
    expect([r.status, r.body?.error]).toEqual([409, 'push_chunk_out_of_order']);
  });
});

describe('7. commit', () => {
  it('answers the five fields; a stale base gets a complete push_conflict', async () => {
    const d = await ready('commit');
    const id = randomUUID();
    const c = await commit(d, 1, [userRow(id, 'v1')]);
    expect(Object.keys(c).sort()).toEqual([
      'bundle_hash',
      'bundle_seq',
      'row_count',
      'source_bundle_id',
      'source_id',
    ]);
    expect(c.source_id).toBe(d.source);
    const r = await d.push(2, [userRow(id, 'v2', 0, 'UPDATE')]);
    expect([r.status, r.body?.error]).toEqual([409, 'push_conflict']);
    const conflict = r.body?.conflict as G1Object;
    expect(Object.keys(conflict).sort()).toEqual([
      'base_row_version',
      'key',
      'op',
      'schema',
      'server_row',
      'server_row_deleted',
      'server_row_version',
      'table',
    ]);
    expect(conflict.server_row_version).toEqual(c.bundle_seq);
    expect((conflict.server_row as G1Object).name).toBe('v1');
  });
});

describe('8. committed-bundle rows', () => {
  it('pages with next_row_ordinal = last ordinal; history_pruned below the floor', async () => {
    const d = await ready('paging');
    const c = await commit(
      d,
      1,
      Array.from({ length: 5 }, (_, i) => userRow(randomUUID(), `p${i}`)),
    );
    const seq = int(c.bundle_seq);
    const first = await d.ok('GET', `/sync/committed-bundles/${seq}/rows?max_rows=2`);
    expect([int(first.next_row_ordinal), first.has_more]).toEqual([1n, true]);
    const last = await d.ok(
      'GET',
      `/sync/committed-bundles/${seq}/rows?max_rows=2&after_row_ordinal=3`,
    );
    expect([int(last.next_row_ordinal), last.has_more, (last.rows as unknown[]).length]).toEqual([
      4n,
      false,
      1,
    ]);
    await commit(d, 2, [userRow(randomUUID(), 'next')]);
    await ours.setRetainedFloor(d.user, seq);
    const gone = await d.request('GET', `/sync/committed-bundles/${seq}/rows`);
    expect([gone.status, gone.body?.error]).toEqual([409, 'history_pruned']);
  });
});

describe('9–10. bundle_hash and payloads', () => {
  it('hash recomputed by the client matches; payloads hold exactly the table columns', async () => {
    const d = await ready('hash');
    const c = await commit(d, 1, [userRow(randomUUID(), 'h <&> \u2028')]);
    const { rows } = await d.committedRows(int(c.bundle_seq));
    expect(await g1RowsHash(rows)).toBe(c.bundle_hash);
    expect(Object.keys(rows[0]?.payload as G1Object).sort()).toEqual(USER_COLUMNS);
  });
});

describe('11. pull', () => {
  it('echoes the target, ascends, completes bundles and answers history_pruned below the floor', async () => {
    const d = await ready('pull');
    for (let i = 1; i <= 4; i++)
      await commit(d, i, [userRow(randomUUID(), `b${i}`), userRow(randomUUID(), `c${i}`)]);
    const page = await d.ok(
      'GET',
      '/sync/pull?after_bundle_seq=0&max_bundles=2&target_bundle_seq=3',
    );
    expect(int(page.stable_bundle_seq)).toBe(3n);
    expect(page.has_more).toBe(true);
    const bundles = page.bundles as G1Object[];
    expect(bundles.map((b) => int(b.bundle_seq))).toEqual([1n, 2n]);
    for (const b of bundles) {
      expect(int(b.row_count)).toBe(BigInt((b.rows as unknown[]).length));
      expect(await g1RowsHash(b.rows as G1Object[])).toBe(b.bundle_hash);
    }
    expect((await d.request('GET', '/sync/pull?max_bundles=5001')).status).toBe(400);
    await ours.setRetainedFloor(d.user, 2n);
    const pruned = await d.request('GET', '/sync/pull?after_bundle_seq=1');
    expect([pruned.status, pruned.body?.error]).toEqual([409, 'history_pruned']);
  });
});

describe('12–14. snapshots and session deletes', () => {
  it('accepts an empty body without content type; chunks are 1-based and total row_count', async () => {
    const d = await ready('snap');
    await commit(
      d,
      1,
      Array.from({ length: 7 }, (_, i) => userRow(randomUUID(), `s${i}`)),
    );
    const res = await fetch(`${ours.baseUrl}/sync/snapshot-sessions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await g1Token(SECRET, d.user)}`,
        'oversync-source-id': d.source,
      },
    });
    expect(res.status).toBe(200);
    const session = JSON.parse(await res.text());
    expect(session.row_count).toBe(7);
    const first = await d.ok(
      'GET',
      `/sync/snapshot-sessions/${session.snapshot_id}?after_row_ordinal=0&max_rows=3`,
    );
    expect([int(first.next_row_ordinal), first.has_more]).toEqual([3n, true]);
    const all = await d.snapshotAll(3);
    expect(all.rows).toHaveLength(7);
    for (const r of all.rows) expect((r.row_version as JsonNumber).text).toBe('1');
    expect(
      (await d.request('DELETE', `/sync/snapshot-sessions/${session.snapshot_id}`)).status,
    ).toBe(204);
  });
});

describe('15. watch', () => {
  it('streams text/event-stream bundle events after a commit', async () => {
    const d = await ready('watch');
    const controller = new AbortController();
    const res = await fetch(`${ours.baseUrl}/sync/watch?after_bundle_seq=0`, {
      headers: {
        authorization: `Bearer ${await g1Token(SECRET, d.user)}`,
        'oversync-source-id': d.source,
      },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await commit(d, 1, [userRow(randomUUID(), 'w')]);
    let text = '';
    const decoder = new TextDecoder();
    // Comment lines (heartbeats) may come first; the Go client ignores them.
    while (!/event: bundle\n[^\n]*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    expect(text).toMatch(
      /^event: bundle\ndata: \{"bundle_seq":1,"source_id":"[^"]+","source_bundle_id":1\}\n\n/m,
    );
    expect(text.replace(/^:[^\n]*\n\n/gm, '').startsWith('event: bundle\n')).toBe(true);
  });
});

describe('16–17. error bodies and idempotency', () => {
  it('errors are JSON {error, message}; a replayed tuple never commits twice', async () => {
    const d = await ready('errors');
    const r = await d.request('GET', '/sync/committed-bundles/0/rows');
    expect(Object.keys(r.body ?? {}).sort()).toEqual(['error', 'message']);
    const rows = [userRow(randomUUID(), 'once')];
    const c = await commit(d, 1, rows);
    const again = await d.push(1, rows);
    expect(again.body?.status).toBe('already_committed');
    expect((await d.pullAll()).bundles.map((b) => int(b.bundle_seq))).toEqual([int(c.bundle_seq)]);
  });
});
