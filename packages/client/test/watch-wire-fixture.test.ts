/**
 * Fixture `watch/basic.json` through the real HTTP client: `bundle_change_watch` capability
 * interpretation, SSE frames read by `watch()` from a streamed `text/event-stream` body (whole,
 * and split into one-character chunks), and watch setup error bodies.
 *
 * `runtimeCases` also pin behaviour of the automatic-download worker (fallback pulls after a
 * non-OK watch response); only the transport half — the non-OK response is rejected and its body
 * consumed, leaving nothing open — is asserted here.
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type OversyncClientError } from '../src/errors.js';
import { checkCapabilities } from '../src/remote/handshake.js';
import { createHttpRemoteApi } from '../src/remote/http-remote-api.js';
import type { WatchStreamItem } from '../src/remote/remote-api.js';

interface WatchFixture {
  capabilitiesCases: {
    name: string;
    response: { status: number; body: unknown };
    expectedBundleChangeWatchSupported: boolean;
  }[];
  sseCases: { name: string; lines: string[]; expectedEvents?: unknown[]; expectError?: boolean }[];
  setupErrorResponses: { status: number; body: { error: string }; expectedError: string }[];
  runtimeCases: { name: string; response: { status: number; body: unknown } }[];
}

const SOURCE = 'source-watch';
const CTX = { sourceId: SOURCE };
const LOCAL = { schema: 'main', tables: [{ tableName: 'users', keyColumn: 'id' }] };

/**
 * A body stream that delivers `chunks` one by one and records cancellation; with `holdOpen` it
 * then stays open like a live server stream instead of ending.
 */
function streamOf(
  chunks: string[],
  holdOpen = false,
): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  const encoder = new TextEncoder();
  let index = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (holdOpen) return new Promise<void>(() => {});
      else controller.close();
      return undefined;
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

function apiWith(respond: (request: Request) => Response) {
  const requests: Request[] = [];
  const api = createHttpRemoteApi({
    baseUrl: 'https://sync.test/api/v1',
    fetch: async (input, init) => {
      const request = new Request(input, init);
      requests.push(request);
      return respond(request);
    },
  });
  return { api, requests };
}

async function collect(
  chunks: string[],
  holdOpen = false,
): Promise<{ items: WatchStreamItem[]; error?: OversyncClientError; cancelled: boolean }> {
  const stream = streamOf(chunks, holdOpen);
  const { api, requests } = apiWith(
    () =>
      new Response(stream.body, {
        headers: { 'content-type': 'text/event-stream; charset=utf-8' },
      }),
  );
  const watch = await api.watch(CTX, 12);
  const url = new URL(requests[0]?.url ?? '');
  expect(url.pathname).toBe('/api/v1/sync/watch');
  expect(url.searchParams.get('after_bundle_seq')).toBe('12');
  expect(requests[0]?.headers.get('Oversync-Source-ID')).toBe(SOURCE);
  const items: WatchStreamItem[] = [];
  try {
    for await (const item of watch) items.push(item);
  } catch (error) {
    if (!isOversyncClientError(error)) throw error;
    return { items, error, cancelled: stream.cancelled() };
  }
  return { items, cancelled: stream.cancelled() };
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'watch/basic.json' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixture = loadContract('watch/basic.json') as WatchFixture;

  describe('capabilitiesCases', () => {
    it.each(fixture.capabilitiesCases)('$name', async (c) => {
      const { api } = apiWith(
        () =>
          new Response(JSON.stringify(c.response.body), {
            status: c.response.status,
            headers: { 'content-type': 'application/json' },
          }),
      );
      const features = checkCapabilities(await api.capabilities(CTX), LOCAL);
      expect(features.bundleChangeWatch).toBe(c.expectedBundleChangeWatchSupported);
    });
  });

  describe('sseCases', () => {
    it.each(fixture.sseCases)('$name', async (c) => {
      const text = c.lines.map((line) => `${line}\n`).join('');
      const comments = c.lines.filter((line) => line.startsWith(':')).length;
      // Whole body in one chunk, then one character per chunk (frames split anywhere).
      for (const chunks of [[text], [...text]]) {
        // A malformed stream is failed while the server still holds it open: it must be cancelled.
        const result = await collect(chunks, c.expectError === true);
        if (c.expectError === true) {
          expect(result.error?.code).toBe('protocol_error');
          expect(result.error?.message).toContain('malformed bundle event');
          expect(result.cancelled).toBe(true);
          continue;
        }
        expect(result.error).toBeUndefined();
        const events = result.items.flatMap((item) => (item.type === 'bundle' ? [item.event] : []));
        expect(events).toEqual(c.expectedEvents);
        expect(result.items.filter((item) => item.type === 'heartbeat')).toHaveLength(comments);
      }
    });
  });

  describe('setupErrorResponses', () => {
    it.each(fixture.setupErrorResponses)('$status $expectedError', async (c) => {
      const { api } = apiWith(
        () =>
          new Response(JSON.stringify(c.body), {
            status: c.status,
            headers: { 'content-type': 'application/json' },
          }),
      );
      let error: unknown;
      try {
        await api.watch(CTX, 0);
      } catch (e) {
        error = e;
      }
      expect(isOversyncClientError(error, 'http_error')).toBe(true);
      const e = error as OversyncClientError;
      expect(e.details.status).toBe(c.status);
      expect(e.details.serverError).toBe(c.expectedError);
      expect(e.details.body).toEqual(c.body);
      expect(e.category).toBe(c.status === 401 || c.status === 403 ? 'auth' : 'network');
    });
  });

  describe('runtimeCases', () => {
    it.each(fixture.runtimeCases)('$name', async (c) => {
      let response: Response | undefined;
      const { api } = apiWith(() => {
        response = new Response(JSON.stringify(c.response.body), {
          status: c.response.status,
          headers: { 'content-type': 'application/json' },
        });
        return response;
      });
      await expect(api.watch(CTX, 0)).rejects.toMatchObject({
        code: 'http_error',
        details: { status: c.response.status },
      });
      // The non-OK body was read to the end: no response is left open for the fallback path.
      expect(response?.bodyUsed).toBe(true);
    });
  });
});
