/**
 * Fixture `snapshot-capacity/retry.json`: defaults, `Retry-After` parsing (end to end: the header
 * goes through the real HTTP client into the retry policy), the two capacity error codes, the
 * positive-only jitter and the 30 s elapsed budget. Sleep, clock and randomness are injected; no
 * real timers run.
 */

import { contractsAvailable, FIXTURES_ABSENT, loadContract } from '@oversync/test-kit';
import { describe, expect, it } from 'vitest';
import { isOversyncClientError, type OversyncClientError } from '../src/errors.js';
import { createHttpRemoteApi } from '../src/remote/http-remote-api.js';
import {
  retryAfterMillis,
  SNAPSHOT_CAPACITY_RETRY_DEFAULTS,
  withSnapshotCapacityRetry,
} from '../src/remote/snapshot-capacity-retry.js';
import { SNAPSHOT_CAPACITY_ERROR_CODES } from '../src/remote/transient-retry.js';

interface RetryFixture {
  defaults: {
    enabled: boolean;
    max_wait_millis: number;
    fallback_delay_millis: number;
    positive_jitter_ratio: number;
  };
  retry_after_cases: { wire: string; expected_millis: number | null }[];
  capacity_error_codes: string[];
}

const CTX = { sourceId: 'source-capacity' };
const SESSION = {
  snapshot_id: 'snapshot-capacity',
  snapshot_bundle_seq: 3,
  row_count: 0,
  byte_count: 0,
  expires_at: '2099-01-01T00:00:00Z',
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A fake clock advanced only by the injected sleep. */
function fakeTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

const EMPTY_CHUNK = {
  snapshot_id: SESSION.snapshot_id,
  snapshot_bundle_seq: SESSION.snapshot_bundle_seq,
  rows: [],
  next_row_ordinal: 0,
  has_more: false,
  byte_count: 0,
};

/** A client whose server rejects `rejections` times with `response()`, then answers `success`. */
function busyServer(rejections: number, response: () => Response, success: unknown = SESSION) {
  let calls = 0;
  const api = createHttpRemoteApi({
    baseUrl: 'https://sync.test/',
    fetch: async () => {
      calls++;
      return calls <= rejections ? response() : json(200, success);
    },
  });
  return { api, calls: () => calls };
}

async function caught(promise: Promise<unknown>): Promise<OversyncClientError> {
  try {
    await promise;
  } catch (error) {
    if (isOversyncClientError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const available = contractsAvailable();

describe.skipIf(!available)(available ? 'snapshot-capacity/retry.json' : FIXTURES_ABSENT, () => {
  if (!available) {
    it('needs ../shared/contracts/oversqlite', () => {});
    return;
  }
  const fixture = loadContract('snapshot-capacity/retry.json') as RetryFixture;

  it('defaults', () => {
    expect(SNAPSHOT_CAPACITY_RETRY_DEFAULTS).toEqual({
      enabled: fixture.defaults.enabled,
      maxWaitMs: fixture.defaults.max_wait_millis,
      fallbackDelayMs: fixture.defaults.fallback_delay_millis,
      jitterRatio: fixture.defaults.positive_jitter_ratio,
    });
  });

  describe('retry_after_cases', () => {
    it.each(fixture.retry_after_cases)('Retry-After "$wire"', async (c) => {
      expect(retryAfterMillis(c.wire)).toBe(c.expected_millis);
      // End to end: a 429 with this header, then success; no jitter so the wait is the base.
      const time = fakeTime();
      const { api, calls } = busyServer(1, () =>
        json(429, { error: 'snapshot_build_capacity', message: 'busy' }, { 'Retry-After': c.wire }),
      );
      const session = await withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
        ...time,
        random: () => 0,
      });
      expect(session).toEqual(SESSION);
      expect(calls()).toBe(2);
      expect(time.sleeps).toEqual([c.expected_millis ?? fixture.defaults.fallback_delay_millis]);
    });
  });

  describe('capacity_error_codes', () => {
    it('are exactly the codes the client retries', () => {
      expect([...SNAPSHOT_CAPACITY_ERROR_CODES].sort()).toEqual(
        [...fixture.capacity_error_codes].sort(),
      );
    });

    it.each(fixture.capacity_error_codes)('%s is retried until success', async (code) => {
      const time = fakeTime();
      // Build capacity guards session creation, chunk capacity guards chunk reads.
      const isBuild = code === 'snapshot_build_capacity';
      const { api, calls } = busyServer(
        3,
        () => json(429, { error: code, message: 'busy' }),
        isBuild ? SESSION : EMPTY_CHUNK,
      );
      const result = await withSnapshotCapacityRetry<unknown>(
        () =>
          isBuild
            ? api.createSnapshotSession(CTX)
            : api.snapshotChunk(CTX, SESSION.snapshot_id, {
                afterRowOrdinal: 0,
                maxRows: 10,
                maxBytes: 1000,
              }),
        { ...time, random: () => 0 },
      );
      expect(result).toEqual(isBuild ? SESSION : EMPTY_CHUNK);
      expect(calls()).toBe(4);
      expect(time.sleeps).toEqual([1000, 1000, 1000]);
    });
  });

  describe('policy', () => {
    it('other 429 codes and other statuses are not retried', async () => {
      for (const response of [
        () => json(429, { error: 'rate_limited', message: 'slow down' }, { 'Retry-After': '1' }),
        () => json(503, { error: 'snapshot_build_capacity', message: 'busy' }),
        () => json(409, { error: 'snapshot_session_limit_exceeded', message: 'too big' }),
      ]) {
        const time = fakeTime();
        const { api, calls } = busyServer(1, response);
        const error = await caught(
          withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), time),
        );
        expect(error.code).toBe('http_error');
        expect(calls()).toBe(1);
        expect(time.sleeps).toEqual([]);
      }
    });

    it('jitter is positive only and at most the base delay', async () => {
      for (const [random, expected] of [
        [0, 2000],
        [0.5, 3000],
        [0.999_999, 4000],
      ] as const) {
        const time = fakeTime();
        const { api } = busyServer(1, () =>
          json(429, { error: 'snapshot_chunk_capacity', message: 'busy' }, { 'Retry-After': '2' }),
        );
        await withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
          ...time,
          random: () => random,
        });
        expect(time.sleeps).toEqual([expected]);
      }
    });

    it('stops with snapshot_capacity_retry_exhausted once the 30 s budget cannot hold the next wait', async () => {
      const time = fakeTime();
      const { api, calls } = busyServer(1000, () =>
        json(429, { error: 'snapshot_build_capacity', message: 'busy' }, { 'Retry-After': '7' }),
      );
      const error = await caught(
        withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
          ...time,
          random: () => 0,
        }),
      );
      expect(error.code).toBe('snapshot_capacity_retry_exhausted');
      expect(error.category).toBe('network');
      expect(error.details.serverError).toBe('snapshot_build_capacity');
      // 7 + 7 + 7 + 7 = 28 s waited; another 7 s would pass 30 s.
      expect(time.sleeps).toEqual([7000, 7000, 7000, 7000]);
      expect(error.details.waitedMs).toBe(28_000);
      expect(calls()).toBe(5);
      expect(isOversyncClientError(error.cause, 'http_error')).toBe(true);
    });

    it('a Retry-After of the whole budget with jitter cannot fit and fails at once', async () => {
      const time = fakeTime();
      const { api } = busyServer(1, () =>
        json(429, { error: 'snapshot_build_capacity', message: 'busy' }, { 'Retry-After': '30' }),
      );
      const error = await caught(
        withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
          ...time,
          random: () => 0.5,
        }),
      );
      expect(error.code).toBe('snapshot_capacity_retry_exhausted');
      expect(time.sleeps).toEqual([]);
    });

    it('disabled policy fails on the first capacity rejection', async () => {
      const time = fakeTime();
      const { api } = busyServer(1, () =>
        json(429, { error: 'snapshot_chunk_capacity', message: 'busy' }),
      );
      const error = await caught(
        withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
          ...time,
          enabled: false,
        }),
      );
      expect(error.code).toBe('snapshot_capacity_retry_exhausted');
      expect(time.sleeps).toEqual([]);
    });

    it('an aborted signal stops the retry loop', async () => {
      const controller = new AbortController();
      const { api } = busyServer(1000, () =>
        json(429, { error: 'snapshot_chunk_capacity', message: 'busy' }),
      );
      const error = await caught(
        withSnapshotCapacityRetry(() => api.createSnapshotSession(CTX), {
          now: () => 0,
          random: () => 0,
          signal: controller.signal,
          sleep: async () => controller.abort(),
        }),
      );
      expect(error.code).toBe('aborted');
    });
  });
});
