/**
 * Assertions shared by the server test files.
 */

import { bundleHashInput, sha256Hex } from '@oversync/protocol';
import type { Json, Res, TestClient } from '@oversync/test-kit';
import { expect } from 'vitest';

/** Asserts a protocol error response: status, JSON content type, `error` code, string message. */
export function expectError(r: Res, status: number, code: string): void {
  expect({ status: r.status, error: r.json?.error }, r.text).toEqual({ status, error: code });
  expect(typeof r.json.message, r.text).toBe('string');
  expect(r.headers.get('content-type') ?? '', r.text).toMatch(/^application\/json/);
}

/** Asserts status 200 and returns the body. */
export function ok(r: Res): Json {
  expect(r.status, r.text).toBe(200);
  return r.json;
}

/** `bundle_hash` recomputed from rows in stream order (ordinals from position). */
export async function recomputeBundleHash(rows: Json[]): Promise<string> {
  return sha256Hex(
    bundleHashInput(
      rows.map((r) => ({
        schema: r.schema,
        table: r.table,
        key: r.key,
        op: r.op,
        rowVersion: r.row_version,
        payload: r.payload ?? null,
      })),
    ),
  );
}

/** Latest bundle_seq visible to `user` (via an unbounded pull from 0). */
export async function latestSeq(c: TestClient, user: string, source = 'probe'): Promise<number> {
  const r = await c.pull(user, source, { after_bundle_seq: 0, max_bundles: 1 });
  expect(r.status, r.text).toBe(200);
  return r.json.stable_bundle_seq;
}

/** Sorted member names of an object. */
export function keysOf(o: Json): string[] {
  return Object.keys(o).sort();
}

/** RFC 3339 instant → microseconds since the epoch (exact, for comparing instants). */
export function instantMicros(s: string): bigint {
  const m =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/.exec(
      s,
    );
  if (!m) throw new Error(`not an RFC 3339 instant: ${s}`);
  const [, date, hh, mm, ss, frac = '', zone] = m;
  const base = Date.parse(`${date}T${hh}:${mm}:${ss}Z`);
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const micros = BigInt(`${frac}000000`.slice(0, 6));
  return (BigInt(base) - BigInt(offsetMin) * 60_000n) * 1000n + micros;
}

/** A clock the service can be given (`now: clock.now`) and tests can move forward. */
export class TestClock {
  offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/**
 * The committed `bundle_hash` of a bundle (pull bundles carry exactly the members clients
 * declare, so the hash is read from the committed-bundle endpoint).
 */
export async function committedBundleHash(
  c: TestClient,
  user: string,
  bundleSeq: number,
): Promise<string> {
  const r = ok(
    await c.req('GET', `/sync/committed-bundles/${bundleSeq}/rows?max_rows=1`, {
      user,
      source: 'probe',
    }),
  );
  return r.bundle_hash;
}
