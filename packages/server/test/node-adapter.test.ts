import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeListener } from '@oversync/server/node';
import { bearer, ins, startTestServer, type TestServer, uuid } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's node:http mounting, over real sockets: JSON, gzip, SSE streaming and
// client disconnects behave as they do through service.fetch.
describe('node:http adapter (real sockets) [pglite]', () => {
  let t: TestServer;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    t = await startTestServer({
      backend: 'pglite',
      serviceOptions: { retention: { pruneIntervalMs: 0 }, watch: { heartbeatMs: 200 } },
    });
    server = createServer(toNodeListener((request) => t.service.fetch(request)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    server?.close();
    await t?.close();
  });

  const headers = (user: string) => ({
    authorization: bearer(user),
    'oversync-source-id': 'node-dev',
  });

  it('serves JSON, protocol errors and CORS preflight', async () => {
    const caps = await fetch(`${base}/sync/capabilities`, { headers: headers('n1') });
    expect(caps.status).toBe(200);
    expect((await caps.json()).protocol_version).toBe('v1');
    const denied = await fetch(`${base}/sync/capabilities`);
    expect(denied.status).toBe(401);
    expect((await denied.json()).error).toBe('authentication_failed');
    const pre = await fetch(`${base}/sync/pull`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('Oversync-Source-ID');
  });

  it('gzips a large pull for a client that accepts gzip', async () => {
    const user = 'n-gzip';
    await t.initEmpty(user, 'node-dev');
    await t.pushOk(
      user,
      'node-dev',
      1,
      Array.from({ length: 40 }, (_, i) =>
        ins('users', uuid(i + 1), { name: `user ${i}`, email: `${i}@x` }),
      ),
    );
    const r = await fetch(`${base}/sync/pull?after_bundle_seq=0`, {
      headers: { ...headers(user), 'accept-encoding': 'gzip' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-encoding')).toBe('gzip');
    const body = await r.json(); // fetch inflates transparently
    expect(body.bundles[0].rows).toHaveLength(40);
  });

  it('streams watch events over SSE and ends the subscription when the client disconnects', async () => {
    const user = 'n-watch';
    await t.initEmpty(user, 'node-dev');
    const abort = new AbortController();
    const r = await fetch(`${base}/sync/watch?after_bundle_seq=0`, {
      headers: headers(user),
      signal: abort.signal,
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(': connected');
    expect(t.service.watchSubscriberCount(user)).toBe(1);
    await t.pushOk(user, 'node-dev', 1, [ins('users', uuid(99), { name: 'w', email: 'w@x' })]);
    await readUntil('event: bundle');
    await readUntil('\n\n');
    expect(text).toMatch(/data: \{"bundle_seq":1,"source_id":"node-dev","source_bundle_id":1\}/);
    await readUntil(': heartbeat');
    abort.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 50 && t.service.watchSubscriberCount(user) > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(t.service.watchSubscriberCount(user)).toBe(0);
  });
});
