import { gunzipSync } from 'node:zlib';
import { CapabilitiesResponseSchema } from '@oversync/protocol';
import {
  BACKENDS,
  RFC3339_RE,
  startTestServer,
  type TestClient,
  type TestServer,
  uniqueUser,
  userIns,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, ok } from './helpers.js';

const DEMO_TABLE_NAMES = [
  'categories',
  'file_reviews',
  'files',
  'posts',
  'team_members',
  'teams',
  'typed_rows',
  'users',
];

/** Request body limit used by the small-limit service instance. */
const SMALL_BODY_LIMIT = 4096;

describe.each(BACKENDS)('http [%s]', (backend) => {
  let t: TestServer;
  let small: TestClient;

  beforeAll(async () => {
    t = await startTestServer({ backend });
    small = await t.withService({ maxBodyBytes: SMALL_BODY_LIMIT });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('capabilities', () => {
    it('carries every G2 required member and decodes with CapabilitiesResponseSchema', async () => {
      const r = await t.req('GET', '/sync/capabilities', { user: 'caps-user', source: 's1' });
      const caps = ok(r);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      // Standard Schema interface of the valibot schema (no direct valibot import needed).
      const parsed = await CapabilitiesResponseSchema['~standard'].validate(caps);
      expect(parsed.issues, JSON.stringify(parsed.issues ?? [])).toBeUndefined();
      expect(caps.protocol_version).toBe('v1');
      expect(Number.isInteger(caps.schema_version)).toBe(true);
      expect(caps.registered_table_specs).toEqual(
        DEMO_TABLE_NAMES.map((table) => ({ schema: 'business', table, sync_key_columns: ['id'] })),
      );
      expect(caps.features.connect_lifecycle).toBe(true);
      expect(caps.features.bundle_change_watch).toBe(true);
      for (const [k, val] of Object.entries(caps.features)) {
        expect(typeof val, `features.${k}`).toBe('boolean');
      }
    });

    it('advertises consistent snapshot byte/row/concurrency limits (all integers >= 1)', async () => {
      const caps = ok(
        await t.req('GET', '/sync/capabilities', { user: 'caps-user', source: 's1' }),
      );
      const l = caps.bundle_limits;
      for (const k of [
        'default_rows_per_snapshot_chunk',
        'max_rows_per_snapshot_chunk',
        'default_bytes_per_snapshot_chunk',
        'max_bytes_per_snapshot_chunk',
        'max_bytes_per_snapshot_row',
        'max_concurrent_snapshot_builds',
        'max_concurrent_snapshot_chunk_requests',
      ]) {
        expect(Number.isInteger(l[k]), k).toBe(true);
        expect(l[k], k).toBeGreaterThanOrEqual(1);
      }
      expect(l.default_rows_per_snapshot_chunk).toBeLessThanOrEqual(l.max_rows_per_snapshot_chunk);
      expect(l.default_bytes_per_snapshot_chunk).toBeLessThanOrEqual(
        l.max_bytes_per_snapshot_chunk,
      );
      expect(l.max_bytes_per_snapshot_row).toBeLessThanOrEqual(l.max_bytes_per_snapshot_chunk);
      // Clients with default settings (4 MiB chunk/apply budget) reject a larger row limit.
      expect(l.max_bytes_per_snapshot_row).toBeLessThanOrEqual(4_194_304);
      expect(l).not.toHaveProperty('max_concurrent_snapshot_chunks');
    });
  });

  describe('authentication and source header', () => {
    it('401 authentication_failed JSON body with WWW-Authenticate: Bearer when unauthenticated', async () => {
      const variants: Record<string, string>[] = [
        {},
        { Authorization: 'Bearer nope' },
        { Authorization: 'Basic x' },
      ];
      for (const headers of variants) {
        const r = await t.req('POST', '/sync/connect', {
          source: 's1',
          headers,
          body: { has_local_pending_rows: false },
        });
        expectError(r, 401, 'authentication_failed');
        expect(r.headers.get('www-authenticate') ?? '').toMatch(/^Bearer/);
      }
    });

    it('401 on every /sync endpoint without credentials', async () => {
      const paths: [string, string][] = [
        ['GET', '/sync/capabilities'],
        ['GET', '/sync/pull'],
        ['GET', '/sync/watch'],
        ['POST', '/sync/push-sessions'],
        ['POST', `/sync/push-sessions/${uuid(1)}/chunks`],
        ['POST', `/sync/push-sessions/${uuid(1)}/commit`],
        ['DELETE', `/sync/push-sessions/${uuid(1)}`],
        ['GET', '/sync/committed-bundles/1/rows'],
        ['POST', '/sync/snapshot-sessions'],
        ['GET', `/sync/snapshot-sessions/${uuid(1)}`],
        ['DELETE', `/sync/snapshot-sessions/${uuid(1)}`],
      ];
      for (const [method, path] of paths) {
        const r = await t.req(method, path, { source: 's1' });
        expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 401`);
        expect(r.json?.error).toBe('authentication_failed');
      }
    });

    it.each([
      ['missing', null],
      ['empty', ''],
      ['blank', '   '],
      ['inner space', 'has space'],
      ['non-ASCII', 'caf\u00e9'],
      ['too long (256 chars)', 'x'.repeat(256)],
    ])('400 invalid_request for a %s Oversync-Source-ID', async (_name, source) => {
      const user = uniqueUser('srchdr');
      const headers: Record<string, string> = {};
      if (source !== null) headers['Oversync-Source-ID'] = source;
      const connect = await t.req('POST', '/sync/connect', {
        user,
        headers,
        body: { has_local_pending_rows: true },
      });
      expectError(connect, 400, 'invalid_request');
      const pull = await t.req('GET', '/sync/pull', { user, headers });
      expectError(pull, 400, 'invalid_request');
      // Nothing happened: the scope is still uninitialized for a valid source.
      const after = ok(await t.connectRaw(user, 'valid-src', true));
      expect(after.resolution).toBe('initialize_local');
    });

    it('accepts a 255-char visible-ASCII source id', async () => {
      const user = uniqueUser('srcmax');
      const r = await t.connectRaw(user, `~${'a'.repeat(253)}!`, false);
      expect(ok(r).resolution).toBe('initialize_empty');
    });
  });

  describe('routing', () => {
    it.each([
      ['GET', '/sync/nope'],
      ['GET', '/nope'],
      ['POST', '/sync/push-sessions/x/y/z'],
      ['GET', '/sync/committed-bundles/1'],
    ])('%s %s → 404', async (method, path) => {
      const r = await t.req(method, path, { user: 'route-user', source: 's1' });
      expect(r.status, r.text).toBe(404);
    });

    it.each([
      ['DELETE', '/sync/connect'],
      ['GET', '/sync/connect'],
      ['GET', '/sync/push-sessions'],
      ['PUT', `/sync/push-sessions/${uuid(1)}/commit`],
      ['POST', '/sync/pull'],
      ['POST', '/sync/capabilities'],
      ['PATCH', `/sync/snapshot-sessions/${uuid(1)}`],
    ])('%s %s → 405 method_not_allowed', async (method, path) => {
      const r = await t.req(method, path, { user: 'route-user', source: 's1' });
      expectError(r, 405, 'method_not_allowed');
    });

    it('CORS preflight OPTIONS → 204 with Access-Control-Allow-* headers (no auth needed)', async () => {
      const r = await t.req('OPTIONS', '/sync/push-sessions', {
        headers: {
          Origin: 'http://localhost:3000',
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'authorization, content-type, oversync-source-id',
        },
      });
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
      expect(r.headers.get('access-control-allow-origin')).toBeTruthy();
      const allowHeaders = (r.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      for (const h of ['authorization', 'content-type', 'oversync-source-id']) {
        expect(allowHeaders).toContain(h);
      }
      const allowMethods = (r.headers.get('access-control-allow-methods') ?? '').toUpperCase();
      for (const m of ['GET', 'POST', 'DELETE']) expect(allowMethods).toContain(m);
    });

    it('adds Access-Control-Allow-Origin to ordinary responses', async () => {
      const r = await t.req('GET', '/sync/capabilities', {
        user: 'cors-user',
        source: 's1',
        headers: { Origin: 'http://localhost:3000' },
      });
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBeTruthy();
    });
  });

  describe('bodies', () => {
    it('400 invalid_request for invalid JSON', async () => {
      const user = uniqueUser('badjson');
      for (const rawBody of ['{not json', '', '[1,']) {
        const r = await t.req('POST', '/sync/connect', {
          user,
          source: 's1',
          rawBody,
          headers: { 'Content-Type': 'application/json' },
        });
        expectError(r, 400, 'invalid_request');
      }
      const r2 = await t.req('POST', '/sync/push-sessions', {
        user,
        source: 's1',
        rawBody: '{"source_bundle_id":',
      });
      expectError(r2, 400, 'invalid_request');
      // Nothing changed: the user was never initialized.
      expect(ok(await t.connectRaw(user, 's1', true)).resolution).toBe('initialize_local');
    });

    it('413 payload_too_large for a body over the configured limit', async () => {
      const user = uniqueUser('big');
      const r = await small.req('POST', '/sync/connect', {
        user,
        source: 's1',
        rawBody: JSON.stringify({
          has_local_pending_rows: true,
          pad: 'x'.repeat(SMALL_BODY_LIMIT),
        }),
        headers: { 'Content-Type': 'application/json' },
      });
      expectError(r, 413, 'payload_too_large');
      // A body under the limit still works on the same instance, and nothing changed before.
      expect(ok(await small.connectRaw(user, 's1', false)).resolution).toBe('initialize_empty');
    });

    it('413 payload_too_large on a push chunk over the limit (nothing staged)', async () => {
      const user = uniqueUser('bigchunk');
      await small.initEmpty(user);
      const rows = [userIns(uuid(1), 'x'.repeat(SMALL_BODY_LIMIT))];
      const res = await small.pushBundle(user, 's1', 1, rows);
      const chunk = res.chunks[0];
      expect(chunk).toBeDefined();
      if (chunk) expectError(chunk, 413, 'payload_too_large');
      const pull = ok(await small.pull(user, 's1', { after_bundle_seq: 0 }));
      expect(pull.bundles).toEqual([]);
    });

    it('gzips a large response when Accept-Encoding allows it, not otherwise', async () => {
      const user = uniqueUser('gzip');
      await t.initEmpty(user);
      const rows = Array.from({ length: 60 }, (_, i) => userIns(uuid(i + 1), `user-number-${i}`));
      await t.pushOk(user, 's1', 1, rows);
      const plain = await t.raw('GET', '/sync/pull?after_bundle_seq=0', {
        user,
        source: 's1',
        headers: { 'Accept-Encoding': 'identity' },
      });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-encoding') ?? 'identity').toBe('identity');
      const plainJson = JSON.parse(await plain.text());
      const gz = await t.raw('GET', '/sync/pull?after_bundle_seq=0', {
        user,
        source: 's1',
        headers: { 'Accept-Encoding': 'gzip, deflate' },
      });
      expect(gz.status).toBe(200);
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      const buf = Buffer.from(await gz.arrayBuffer());
      const unzipped = JSON.parse(gunzipSync(buf).toString('utf8'));
      expect(unzipped).toEqual(plainJson);
      expect(buf.length).toBeLessThan(JSON.stringify(plainJson).length);
      expect(unzipped.bundles[0].rows).toHaveLength(60);
    });
  });

  describe('health and status', () => {
    it.each(['/syncx/health', '/syncx/status'])('%s answers 200 without auth', async (path) => {
      const r = await t.req('GET', path);
      const body = ok(r);
      expect(body.status).toBe('healthy');
      expect(typeof body.app_name).toBe('string');
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('status reports lifecycle and protocol version', async () => {
      const body = ok(await t.req('GET', '/syncx/status'));
      expect(body.lifecycle).toBe('running');
      expect(body.version).toBe('v1');
      expect(body.accepting_operations).toBe(true);
    });
  });

  it('expires_at-like timestamps use RFC 3339 (lease_expires_at)', async () => {
    const user = uniqueUser('rfc');
    const c = await t.connect(user, 's1', true);
    expect(c.lease_expires_at).toMatch(RFC3339_RE);
  });
});
