/**
 * `createHttpRemoteApi` beyond the shared fixtures: error mapping, response bounds, duplicate
 * JSON members, aborts, best-effort deletes, the watch stream, the transient retry policy, and a
 * whole G2 exchange against the real server (in-process, PGlite, mounted under `/api/v1`).
 */

import { type PushRow, pushRequestHash } from '@oversync/protocol';
import { startTestServer, type TestServer, uniqueSource, uniqueUser } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOversyncClientError, type OversyncClientError } from '../src/errors.js';
import { checkCapabilities, negotiateSnapshotLimits } from '../src/remote/handshake.js';
import {
  createHttpRemoteApi,
  findDuplicateJsonMember,
  type HttpRemoteApiOptions,
  parseRetryAfterSeconds,
  RESPONSE_BYTE_LIMITS,
} from '../src/remote/http-remote-api.js';
import type { WatchStreamItem } from '../src/remote/remote-api.js';
import { isTransientError, withTransientRetry } from '../src/remote/transient-retry.js';
import {
  validateCommittedBundleChunk,
  validateSnapshotChunk,
  verifyCommittedBundleHash,
} from '../src/remote/validate-responses.js';

const CTX = { sourceId: 'source-1' };
const PUSH_ID = '11111111-1111-4111-8111-111111111111';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A client over a scripted fetch; records requests. */
function scripted(
  respond: (request: Request) => Response | Promise<Response>,
  options: Partial<HttpRemoteApiOptions> = {},
) {
  const requests: Request[] = [];
  const api = createHttpRemoteApi({
    baseUrl: 'https://sync.test/base',
    fetch: async (input, init) => {
      const request = new Request(input, init);
      requests.push(request);
      return respond(request);
    },
    ...options,
  });
  return { api, requests };
}

async function caught(run: () => Promise<unknown>): Promise<OversyncClientError> {
  try {
    await run();
  } catch (error) {
    if (isOversyncClientError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

/** A stream of `size` bytes of `fill`, in 64 KiB chunks, without a Content-Length. */
function bigStream(size: number, fill = 0x20): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(65536, size - sent);
      controller.enqueue(new Uint8Array(n).fill(fill));
      sent += n;
    },
  });
}

const EMPTY_PULL = { stable_bundle_seq: 0, bundles: [], has_more: false };

describe('findDuplicateJsonMember', () => {
  it.each([
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', '$.a'],
    ['{"a":{"b":1,"c":{"d":1,"d":2}}}', '$.a.c.d'],
    ['[{"a":1},{"a":2}]', undefined],
    ['{"rows":[{"k":1},{"k":1,"k":2}]}', '$.rows[1].k'],
    ['{"a":1,"\\u0061":2}', '$.a'],
    ['{"a":"x\\"y","b":"{\\"a\\":1,\\"a\\":2}"}', undefined],
    ['{"a\\\\":1,"a":2}', undefined],
    ['{"x":[1,{"y":1}],"y":2,"x2":{"y":3}}', undefined],
    ['"plain"', undefined],
  ])('%s', (text, expected) => {
    JSON.parse(text); // the scanner assumes valid JSON
    expect(findDuplicateJsonMember(text)).toBe(expected);
  });

  it('rejects nesting deeper than the limit', () => {
    const deep = `${'['.repeat(129)}${']'.repeat(129)}`;
    expect(() => findDuplicateJsonMember(deep)).toThrow(RangeError);
    expect(findDuplicateJsonMember(`${'['.repeat(128)}${']'.repeat(128)}`)).toBeUndefined();
  });
});

describe('parseRetryAfterSeconds', () => {
  it.each([
    ['5', 5],
    [' 12 ', 12],
    ['0', undefined],
    ['-1', undefined],
    ['1.5', undefined],
    ['+3', undefined],
    ['', undefined],
    ['Wed, 21 Oct 2015 07:28:00 GMT', undefined],
    [null, undefined],
  ])('%j', (wire, expected) => {
    expect(parseRetryAfterSeconds(wire)).toBe(expected);
  });
});

describe('request building', () => {
  it('merges custom headers, lets protocol headers win and omits Authorization without a token', async () => {
    const { api, requests } = scripted(() => json(200, EMPTY_PULL), {
      headers: { 'X-App': 'demo', Accept: 'text/plain', 'Oversync-Source-ID': 'spoofed' },
      getToken: () => undefined,
    });
    await api.pull(CTX, { afterBundleSeq: 0, maxBundles: 10 });
    const request = requests[0] as Request;
    expect(request.headers.get('X-App')).toBe('demo');
    expect(request.headers.get('Accept')).toBe('application/json');
    expect(request.headers.get('Oversync-Source-ID')).toBe('source-1');
    expect(request.headers.get('Authorization')).toBeNull();
    expect(new URL(request.url).pathname).toBe('/base/sync/pull');
  });

  it('awaits an async token provider per request', async () => {
    let n = 0;
    const { api, requests } = scripted(() => json(200, EMPTY_PULL), {
      getToken: async () => `t${++n}`,
    });
    await api.pull(CTX, { afterBundleSeq: 0, maxBundles: 10 });
    await api.pull(CTX, { afterBundleSeq: 0, maxBundles: 10 });
    expect(requests.map((r) => r.headers.get('Authorization'))).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('a failing token provider is auth_failed and sends nothing', async () => {
    const { api, requests } = scripted(() => json(200, EMPTY_PULL), {
      getToken: () => {
        throw new Error('expired');
      },
    });
    const error = await caught(() => api.capabilities(CTX));
    expect(error.code).toBe('auth_failed');
    expect(requests).toHaveLength(0);
  });

  it('an invalid source id is a configuration error and sends nothing', async () => {
    const { api, requests } = scripted(() => json(200, EMPTY_PULL));
    const error = await caught(() =>
      api.pull({ sourceId: 'bad source' }, { afterBundleSeq: 0, maxBundles: 1 }),
    );
    expect(error.code).toBe('configuration');
    expect(requests).toHaveLength(0);
  });

  it('encodes path segments and omits absent query parameters', async () => {
    const { api, requests } = scripted((request) =>
      request.url.includes('committed-bundles')
        ? json(200, {
            bundle_seq: 4,
            source_id: 'source-1',
            source_bundle_id: 1,
            row_count: 1,
            bundle_hash: 'h',
            canonical_request_hash: 'a'.repeat(64),
            rows: [],
            next_row_ordinal: 0,
            has_more: false,
          })
        : json(500, { error: 'internal_error', message: 'x' }),
    );
    await api.committedBundleRows(CTX, 4, { maxRows: 7 });
    await api.deleteSnapshotSession(CTX, 'a/b c');
    expect(new URL(requests[0]?.url ?? '').search).toBe('?max_rows=7');
    expect(new URL(requests[1]?.url ?? '').pathname).toBe('/base/sync/snapshot-sessions/a%2Fb%20c');
  });

  it('push chunk rows keep only wire members; DELETE rows without payload stay without it', async () => {
    const { api, requests } = scripted(() =>
      json(200, { push_id: PUSH_ID, next_expected_row_ordinal: 2 }),
    );
    const rows = [
      {
        schema: 'main',
        table: 'users',
        key: { id: 'u1' },
        op: 'INSERT',
        base_row_version: 0,
        payload: { id: 'u1', n: '9007199254740993' },
        source_id: 'leak',
      },
      { schema: 'main', table: 'users', key: { id: 'u2' }, op: 'DELETE', base_row_version: 3 },
    ] as unknown as PushRow[];
    await api.uploadPushChunk(CTX, PUSH_ID, { start_row_ordinal: 0, rows });
    const body = JSON.parse(await (requests[0] as Request).text());
    expect(body.rows[0]).not.toHaveProperty('source_id');
    expect(body.rows[0].payload.n).toBe('9007199254740993');
    expect(body.rows[1]).not.toHaveProperty('payload');
  });
});

describe('error mapping', () => {
  it('non-2xx with an error body → http_error with serverError, body, message, Retry-After', async () => {
    const body = { error: 'service_unavailable', message: 'shutting down' };
    const { api } = scripted(() => json(503, body, { 'Retry-After': '4' }));
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 10 }));
    expect(error.code).toBe('http_error');
    expect(error.category).toBe('network');
    expect(error.details).toMatchObject({
      status: 503,
      serverError: 'service_unavailable',
      body,
      method: 'GET',
      path: '/base/sync/pull',
      retryAfterSeconds: 4,
    });
    expect(error.message).toContain('service_unavailable');
    expect(error.message).toContain('shutting down');
  });

  it('a text error body is kept raw, without serverError; an HTTP-date Retry-After is ignored', async () => {
    const { api } = scripted(
      () =>
        new Response('Bad Gateway', {
          status: 502,
          headers: { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' },
        }),
    );
    const error = await caught(() => api.capabilities(CTX));
    expect(error.details.body).toBe('Bad Gateway');
    expect(error.details.serverError).toBeUndefined();
    expect(error.details.retryAfterSeconds).toBeUndefined();
  });

  it('401 and 403 are categorised as auth', async () => {
    for (const status of [401, 403]) {
      const { api } = scripted(() =>
        json(status, { error: 'authentication_failed', message: 'no' }),
      );
      const error = await caught(() => api.capabilities(CTX));
      expect(error.category).toBe('auth');
    }
  });

  it('an over-long error body keeps the status and drops the body', async () => {
    const { api } = scripted(
      () => new Response(bigStream(RESPONSE_BYTE_LIMITS.errorBody + 1), { status: 500 }),
    );
    const error = await caught(() => api.capabilities(CTX));
    expect(error.code).toBe('http_error');
    expect(error.details.status).toBe(500);
    expect(error.details.body).toBeUndefined();
    expect(error.details.bodyTruncated).toBe(true);
  });

  it('a transport failure → network_error with the cause', async () => {
    const cause = new TypeError('fetch failed');
    const { api } = scripted(() => {
      throw cause;
    });
    const error = await caught(() => api.capabilities(CTX));
    expect(error.code).toBe('network_error');
    expect(error.cause).toBe(cause);
  });

  it('a body that breaks off mid-read → network_error', async () => {
    const { api } = scripted(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"stable_bundle_seq":'));
              controller.error(new TypeError('socket hang up'));
            },
          }),
        ),
    );
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }));
    expect(error.code).toBe('network_error');
  });

  it.each([
    ['invalid JSON', '{"stable_bundle_seq":'],
    ['a wrong shape', { resolution: 'bogus' }],
    ['initialize_local without initialization_id', { resolution: 'initialize_local' }],
    [
      'an initialization_id outside initialize_local',
      { resolution: 'initialize_empty', initialization_id: '22222222-2222-4222-8222-222222222222' },
    ],
    [
      'a non-canonical initialization_id',
      { resolution: 'initialize_local', initialization_id: '22222222-2222-4222-8222-22222222222A' },
    ],
  ])('a 2xx connect body with %s → protocol_error', async (_label, body) => {
    const { api } = scripted(() => json(200, body));
    const error = await caught(() => api.connect(CTX, { has_local_pending_rows: false }));
    expect(error.code).toBe('protocol_error');
    expect(error.category).toBe('protocol');
  });

  it('invalid UTF-8 in a 2xx body → protocol_error', async () => {
    const { api } = scripted(() => new Response(new Uint8Array([0x7b, 0xff, 0x7d])));
    expect((await caught(() => api.capabilities(CTX))).code).toBe('protocol_error');
  });

  it('push chunk echoes are checked', async () => {
    for (const body of [
      { push_id: '22222222-2222-4222-8222-222222222222', next_expected_row_ordinal: 1 },
      { push_id: PUSH_ID, next_expected_row_ordinal: 5 },
    ]) {
      const { api } = scripted(() => json(200, body));
      const error = await caught(() =>
        api.uploadPushChunk(CTX, PUSH_ID, {
          start_row_ordinal: 0,
          rows: [
            { schema: 'main', table: 't', key: { id: 'a' }, op: 'DELETE', base_row_version: 1 },
          ],
        }),
      );
      expect(error.code).toBe('protocol_error');
    }
  });
});

describe('strict JSON and bounds', () => {
  it('duplicate members in a 2xx body → protocol_error naming the member', async () => {
    const { api } = scripted(() =>
      json(200, '{"stable_bundle_seq":0,"bundles":[],"has_more":false,"has_more":true}'),
    );
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }));
    expect(error.code).toBe('protocol_error');
    expect(error.details.member).toBe('$.has_more');
  });

  it('duplicate members nested in a row payload are caught too', async () => {
    const body =
      '{"stable_bundle_seq":1,"bundles":[{"bundle_seq":1,"source_id":"s","source_bundle_id":1,' +
      '"rows":[{"schema":"main","table":"t","key":{"id":"a"},"op":"INSERT","row_version":1,' +
      '"payload":{"id":"a","n":"1","n":"2"}}]}],"has_more":false}';
    const { api } = scripted(() => json(200, body));
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }));
    expect(error.details.member).toBe('$.bundles[0].rows[0].payload.n');
  });

  it('an int64 sent as a JSON number (already rounded by JSON.parse) is refused', async () => {
    const body =
      '{"stable_bundle_seq":1,"bundles":[{"bundle_seq":1,"source_id":"s","source_bundle_id":1,' +
      '"rows":[{"schema":"main","table":"t","key":{"id":"a"},"op":"INSERT","row_version":1,' +
      '"payload":{"id":"a","n":9007199254740993}}]}],"has_more":false}';
    const { api } = scripted(() => json(200, body));
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }));
    expect(error.code).toBe('protocol_error');
    expect(error.message).toContain('beyond 2^53');
  });

  it('duplicate members in an error body do not hide the HTTP error', async () => {
    const { api } = scripted(() =>
      json(409, '{"error":"history_pruned","error":"history_pruned","message":"m"}'),
    );
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 1, maxBundles: 1 }));
    expect(error.code).toBe('http_error');
    expect(error.details.serverError).toBe('history_pruned');
  });

  it('maxResponseBytes bounds pull pages (streamed, no Content-Length)', async () => {
    const { api } = scripted(() => new Response(bigStream(2000)), { maxResponseBytes: 1000 });
    const error = await caught(() => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }));
    expect(error.code).toBe('protocol_error');
    expect(error.details.limit).toBe(1000);
  });

  it('a declared Content-Length over the limit is refused before reading', async () => {
    let pulled = 0;
    const { api } = scripted(
      () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulled++;
              controller.enqueue(new Uint8Array(10));
            },
          }),
          { headers: { 'content-length': String(RESPONSE_BYTE_LIMITS.capabilities + 1) } },
        ),
    );
    const error = await caught(() => api.capabilities(CTX));
    expect(error.code).toBe('protocol_error');
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('capabilities are bounded at 4 MiB', async () => {
    const { api } = scripted(() => new Response(bigStream(RESPONSE_BYTE_LIMITS.capabilities + 1)));
    const error = await caught(() => api.capabilities(CTX));
    expect(error.details.limit).toBe(4 * 1024 * 1024);
  });

  it('snapshot chunks are bounded by max_bytes + max_rows + 64 KiB, whatever maxResponseBytes says', async () => {
    const limit = 1000 + 10 + 65536;
    const over = scripted(() => new Response(bigStream(limit + 1)), { maxResponseBytes: 1 });
    const error = await caught(() =>
      over.api.snapshotChunk(CTX, 's', { afterRowOrdinal: 0, maxRows: 10, maxBytes: 1000 }),
    );
    expect(error.details.limit).toBe(limit);
    // Exactly at the limit the body is read (and then rejected as JSON, not as too large).
    const at = scripted(() => new Response(bigStream(limit)), { maxResponseBytes: 1 });
    const atError = await caught(() =>
      at.api.snapshotChunk(CTX, 's', { afterRowOrdinal: 0, maxRows: 10, maxBytes: 1000 }),
    );
    expect(atError.message).toContain('not valid JSON');
  });

  it('snapshot session bodies are bounded at 64 KiB', async () => {
    const { api } = scripted(
      () => new Response(bigStream(RESPONSE_BYTE_LIMITS.snapshotSession + 1)),
    );
    expect((await caught(() => api.createSnapshotSession(CTX))).details.limit).toBe(65536);
  });

  it('snapshot chunk responses with unknown members are rejected', async () => {
    const { api } = scripted(() =>
      json(200, {
        snapshot_id: 's',
        snapshot_bundle_seq: 1,
        rows: [],
        next_row_ordinal: 0,
        has_more: false,
        byte_count: 0,
        extra: true,
      }),
    );
    const error = await caught(() =>
      api.snapshotChunk(CTX, 's', { afterRowOrdinal: 0, maxRows: 10, maxBytes: 1000 }),
    );
    expect(error.message).toContain('unknown member extra');
  });

  it('snapshot chunk byte_count is required and bounded by max_bytes', async () => {
    const row = {
      schema: 'main',
      table: 't',
      key: { id: 'a' },
      row_version: 1,
      payload: { id: 'a' },
    };
    for (const [body, fragment] of [
      [
        {
          snapshot_id: 's',
          snapshot_bundle_seq: 1,
          rows: [row],
          next_row_ordinal: 1,
          has_more: false,
        },
        'missing byte_count',
      ],
      [
        {
          snapshot_id: 's',
          snapshot_bundle_seq: 1,
          rows: [row],
          next_row_ordinal: 1,
          has_more: false,
          byte_count: 1001,
        },
        'exceeds max_bytes 1000',
      ],
    ] as const) {
      const { api } = scripted(() => json(200, body));
      const error = await caught(() =>
        api.snapshotChunk(CTX, 's', { afterRowOrdinal: 0, maxRows: 10, maxBytes: 1000 }),
      );
      expect(error.message).toContain(fragment);
    }
  });
});

describe('abort', () => {
  it('an already aborted signal fails with aborted and sends nothing', async () => {
    const { api, requests } = scripted(() => json(200, EMPTY_PULL));
    const controller = new AbortController();
    controller.abort();
    const error = await caught(() => api.capabilities({ ...CTX, signal: controller.signal }));
    expect(error.code).toBe('aborted');
    expect(requests).toHaveLength(0);
  });

  it('aborting an in-flight request → aborted', async () => {
    const controller = new AbortController();
    const { api } = scripted(
      (request) =>
        new Promise<Response>((_resolve, reject) => {
          request.signal.addEventListener('abort', () =>
            reject(new DOMException('aborted', 'AbortError')),
          );
          controller.abort();
        }),
    );
    const error = await caught(() => api.capabilities({ ...CTX, signal: controller.signal }));
    expect(error.code).toBe('aborted');
  });

  it('best-effort deletes swallow HTTP and network failures but not aborts', async () => {
    const failing = scripted(() => json(500, { error: 'internal_error', message: 'x' }));
    await expect(failing.api.deletePushSession(CTX, PUSH_ID)).resolves.toBeUndefined();
    const offline = scripted(() => {
      throw new TypeError('offline');
    });
    await expect(offline.api.deleteSnapshotSession(CTX, 's')).resolves.toBeUndefined();
    const controller = new AbortController();
    controller.abort();
    const error = await caught(() =>
      offline.api.deletePushSession({ ...CTX, signal: controller.signal }, PUSH_ID),
    );
    expect(error.code).toBe('aborted');
    expect(new URL(failing.requests[0]?.url ?? '').pathname).toBe(
      `/base/sync/push-sessions/${PUSH_ID}`,
    );
    expect(failing.requests[0]?.method).toBe('DELETE');
  });
});

describe('watch stream', () => {
  /** A live SSE body: `push` writes text, `end` closes; records cancellation. */
  function liveStream() {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      cancel() {
        cancelled = true;
      },
    });
    return {
      body,
      push: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
      end: () => controller.close(),
      cancelled: () => cancelled,
    };
  }

  function sse(body: ReadableStream<Uint8Array>, contentType = 'text/event-stream') {
    return scripted(() => new Response(body, { headers: { 'content-type': contentType } }));
  }

  it('yields bundle events and heartbeats, handles CRLF, ignores unknown events', async () => {
    const live = liveStream();
    const { api } = sse(live.body);
    const stream = await api.watch(CTX, 0);
    const it = stream[Symbol.asyncIterator]();
    live.push(': hello\r\n\r\nevent: other\r\ndata: x\r\n\r\nevent: bundle\r');
    live.push('\ndata: {"bundle_seq":3}\r\n\r\n');
    expect((await it.next()).value).toEqual({ type: 'heartbeat' });
    expect((await it.next()).value).toEqual({ type: 'bundle', event: { bundle_seq: 3 } });
    live.end();
    expect((await it.next()).done).toBe(true);
  });

  it('close() cancels the body and ends a pending iteration', async () => {
    const live = liveStream();
    const { api } = sse(live.body);
    const stream = await api.watch(CTX, 0);
    const pending = stream[Symbol.asyncIterator]().next();
    await stream.close();
    await stream.close(); // idempotent
    expect((await pending).done).toBe(true);
    expect(live.cancelled()).toBe(true);
  });

  it('breaking out of for-await closes the stream', async () => {
    const live = liveStream();
    const { api } = sse(live.body);
    const stream = await api.watch(CTX, 0);
    live.push('event: bundle\ndata: {"bundle_seq":9}\n\n');
    const seen: WatchStreamItem[] = [];
    for await (const item of stream) {
      seen.push(item);
      break;
    }
    expect(seen).toEqual([{ type: 'bundle', event: { bundle_seq: 9 } }]);
    expect(live.cancelled()).toBe(true);
  });

  it('aborting the signal mid-stream fails the iteration with aborted', async () => {
    const live = liveStream();
    const controller = new AbortController();
    const { api } = sse(live.body);
    const stream = await api.watch({ ...CTX, signal: controller.signal }, 0);
    const pending = stream[Symbol.asyncIterator]().next();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    expect(live.cancelled()).toBe(true);
  });

  it('a non-SSE content type → protocol_error', async () => {
    const live = liveStream();
    const { api } = sse(live.body, 'application/json');
    const error = await caught(() => api.watch(CTX, 0));
    expect(error.code).toBe('protocol_error');
    expect(live.cancelled()).toBe(true);
  });

  it('an endless line → protocol_error', async () => {
    const { api } = sse(bigStream(RESPONSE_BYTE_LIMITS.watchLine + 70_000, 0x61));
    const stream = await api.watch(CTX, 0);
    const error = await caught(async () => {
      for await (const _ of stream) {
        // drain
      }
    });
    expect(error.code).toBe('protocol_error');
  });
});

describe('withTransientRetry', () => {
  async function errorFor(status: number, headers: Record<string, string> = {}, code = 'x') {
    const { api } = scripted(() => json(status, { error: code, message: 'm' }, headers));
    return caught(() => api.capabilities(CTX));
  }

  it('classifies errors', async () => {
    expect(isTransientError(await errorFor(502))).toBe(true);
    expect(isTransientError(await errorFor(503))).toBe(true);
    expect(isTransientError(await errorFor(504))).toBe(true);
    expect(isTransientError(await errorFor(429, { 'Retry-After': '1' }))).toBe(true);
    expect(isTransientError(await errorFor(429))).toBe(false);
    expect(
      isTransientError(await errorFor(429, { 'Retry-After': '1' }, 'snapshot_build_capacity')),
    ).toBe(false);
    for (const status of [400, 401, 403, 404, 409, 410, 500]) {
      expect(isTransientError(await errorFor(status))).toBe(false);
    }
    const offline = scripted(() => {
      throw new TypeError('offline');
    });
    expect(isTransientError(await caught(() => offline.api.capabilities(CTX)))).toBe(true);
    expect(isTransientError(new Error('plain'))).toBe(false);
  });

  it('retries network errors and 503 with doubling, capped, jittered backoff', async () => {
    let calls = 0;
    const { api } = scripted(() => {
      calls++;
      if (calls === 1) throw new TypeError('offline');
      if (calls <= 4) return json(503, { error: 'service_unavailable', message: 'm' });
      return json(200, EMPTY_PULL);
    });
    const sleeps: number[] = [];
    const result = await withTransientRetry(
      () => api.pull(CTX, { afterBundleSeq: 0, maxBundles: 1 }),
      {
        maxAttempts: 5,
        initialBackoffMs: 100,
        maxBackoffMs: 300,
        jitter: 0.2,
        random: () => 0.5,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    );
    expect(result).toEqual(EMPTY_PULL);
    expect(sleeps).toEqual([100, 200, 300, 300]);
  });

  it('jitter stays within ±jitter of the backoff', async () => {
    for (const [random, expected] of [
      [0, 120],
      [0.999_999_9, 180],
    ] as const) {
      const sleeps: number[] = [];
      let calls = 0;
      await withTransientRetry(
        async () => {
          if (++calls === 1) throw await errorFor(502);
          return 'ok';
        },
        { random: () => random, sleep: async (ms) => void sleeps.push(ms) },
      );
      expect(sleeps).toEqual([expected]);
    }
  });

  it('waits at least Retry-After on 429 and gives up on too long a Retry-After', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const e429 = await errorFor(429, { 'Retry-After': '2' });
    await withTransientRetry(
      async () => {
        if (++calls === 1) throw e429;
        return 'ok';
      },
      { sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(sleeps).toEqual([2000]);
    const long = await errorFor(503, { 'Retry-After': '3600' });
    await expect(
      withTransientRetry(
        async () => {
          throw long;
        },
        { sleep: async () => {} },
      ),
    ).rejects.toBe(long);
  });

  it('does not retry 4xx or protocol errors, and rethrows the last error when exhausted', async () => {
    for (const error of [await errorFor(409), await errorFor(400)]) {
      let calls = 0;
      await expect(
        withTransientRetry(
          async () => {
            calls++;
            throw error;
          },
          { sleep: async () => {} },
        ),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
    }
    let calls = 0;
    const e503 = await errorFor(503);
    await expect(
      withTransientRetry(
        async () => {
          calls++;
          throw e503;
        },
        { sleep: async () => {} },
      ),
    ).rejects.toBe(e503);
    expect(calls).toBe(3);
  });

  it('an abort during the wait → aborted', async () => {
    const controller = new AbortController();
    const e503 = await errorFor(503);
    const error = await caught(() =>
      withTransientRetry(
        async () => {
          controller.abort();
          throw e503;
        },
        { signal: controller.signal },
      ),
    );
    expect(error.code).toBe('aborted');
  });
});

describe('against the real server (PGlite, base path /api/v1)', () => {
  let server: TestServer;
  const user = uniqueUser('client-http');
  const source = uniqueSource('client-http');
  const ctx = { sourceId: source };
  let api: ReturnType<typeof createHttpRemoteApi>;

  beforeAll(async () => {
    server = await startTestServer({ backend: 'pglite', serviceOptions: { basePath: '/api/v1' } });
    api = createHttpRemoteApi({
      baseUrl: 'http://oversync.test/api/v1',
      fetch: (input, init) => server.service.fetch(new Request(input, init)),
      getToken: () => `user:${user}`,
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('capabilities, connect, push, committed rows, pull, snapshot, watch and errors', async () => {
    const caps = await api.capabilities(ctx);
    const features = checkCapabilities(caps, {
      schema: 'business',
      tables: server.tables.map((t) => ({ tableName: t.table, keyColumn: t.syncKeyColumn })),
    });
    expect(features.connectLifecycle).toBe(true);
    const limits = negotiateSnapshotLimits(caps.bundle_limits, {
      snapshotChunkRows: 1000,
      snapshotChunkBytes: 4 * 1024 * 1024,
    });

    const connect = await api.connect(ctx, { has_local_pending_rows: false });
    expect(connect.resolution).toBe('initialize_empty');

    // Push two users; INTEGER-like business values travel as strings.
    const ids = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
    const rows: PushRow[] = ids.map((id, i) => ({
      schema: 'business',
      table: 'users',
      key: { id },
      op: 'INSERT',
      base_row_version: 0,
      payload: { id, name: `user ${i}`, email: `u${i}@example.com` },
    }));
    const canonical_request_hash = await pushRequestHash(
      rows.map((r) => ({
        schema: r.schema,
        table: r.table,
        key: r.key as Record<string, string>,
        op: r.op as 'INSERT',
        baseRowVersion: r.base_row_version,
        payload: r.payload,
      })),
    );
    const created = await api.createPushSession(ctx, {
      source_bundle_id: 1,
      planned_row_count: rows.length,
      canonical_request_hash,
    });
    if (created.status !== 'staging') throw new Error(`unexpected ${created.status}`);
    expect(created.canonical_request_hash).toBe(canonical_request_hash);
    await api.uploadPushChunk(ctx, created.push_id, {
      start_row_ordinal: 0,
      rows: rows.slice(0, 1),
    });
    await api.uploadPushChunk(ctx, created.push_id, { start_row_ordinal: 1, rows: rows.slice(1) });
    const commit = await api.commitPushSession(ctx, created.push_id);
    expect(commit).toMatchObject({ source_id: source, source_bundle_id: 1, row_count: 2 });
    await api.deletePushSession(ctx, created.push_id); // already committed: best effort, no throw

    // Committed replay, one row per page, with the recomputed bundle_hash.
    const expected = {
      bundleSeq: commit.bundle_seq,
      sourceId: source,
      sourceBundleId: 1,
      rowCount: commit.row_count,
      bundleHash: commit.bundle_hash,
      canonicalRequestHash: canonical_request_hash,
    };
    const committedRows = [];
    let after: number | undefined;
    for (;;) {
      const page = validateCommittedBundleChunk(
        await api.committedBundleRows(ctx, commit.bundle_seq, {
          afterRowOrdinal: after,
          maxRows: 1,
        }),
        { ...expected, afterRowOrdinal: after },
      );
      committedRows.push(...page.rows);
      after = page.next_row_ordinal;
      if (!page.has_more) break;
    }
    expect(committedRows).toHaveLength(2);
    await verifyCommittedBundleHash(committedRows, commit.bundle_hash);

    // Pull from zero: one bundle, validated by the client.
    const page = await api.pull(ctx, { afterBundleSeq: 0, maxBundles: 100 });
    expect(page.stable_bundle_seq).toBe(commit.bundle_seq);
    expect(page.bundles.map((b) => b.bundle_seq)).toEqual([commit.bundle_seq]);
    const frozen = await api.pull(ctx, {
      afterBundleSeq: commit.bundle_seq,
      maxBundles: 100,
      targetBundleSeq: commit.bundle_seq,
    });
    expect(frozen.bundles).toEqual([]);

    // A checkpoint beyond the server's history.
    const ahead = await caught(() => api.pull(ctx, { afterBundleSeq: 99, maxBundles: 1 }));
    expect(ahead.details).toMatchObject({ status: 409, serverError: 'checkpoint_ahead' });

    // Snapshot: session, chunks of one row, totals checked, best-effort delete.
    const session = await api.createSnapshotSession(ctx);
    expect(session.row_count).toBe(2);
    let rowsSoFar = 0;
    let bytesSoFar = 0;
    for (;;) {
      const query = { afterRowOrdinal: rowsSoFar, maxRows: 1, maxBytes: limits.maxBytes };
      const chunk = validateSnapshotChunk(
        await api.snapshotChunk(ctx, session.snapshot_id, query),
        { snapshotId: session.snapshot_id, ...query, session, rowsSoFar, bytesSoFar },
      );
      rowsSoFar += chunk.rows.length;
      bytesSoFar += chunk.byte_count;
      if (!chunk.has_more) break;
    }
    expect(rowsSoFar).toBe(2);
    const tooSmall = await caught(() =>
      api.snapshotChunk(ctx, session.snapshot_id, { afterRowOrdinal: 0, maxRows: 1, maxBytes: 1 }),
    );
    expect(tooSmall.details).toMatchObject({
      status: 400,
      serverError: 'snapshot_chunk_too_small',
    });
    await api.deleteSnapshotSession(ctx, session.snapshot_id);
    await api.deleteSnapshotSession(ctx, session.snapshot_id); // gone: still no throw

    // Watch: the server queues the latest bundle right after subscribing.
    const stream = await api.watch(ctx, 0);
    for await (const item of stream) {
      if (item.type === 'bundle') {
        expect(item.event.bundle_seq).toBe(commit.bundle_seq);
        break;
      }
    }
    await stream.close();

    // A request without credentials.
    const anonymous = createHttpRemoteApi({
      baseUrl: 'http://oversync.test/api/v1',
      fetch: (input, init) => server.service.fetch(new Request(input, init)),
    });
    const unauthenticated = await caught(() => anonymous.capabilities(ctx));
    expect(unauthenticated.category).toBe('auth');
  });
});
