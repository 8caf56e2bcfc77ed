/**
 * The four workloads, driven through the same G1 client (interop/g1-client.ts) against any
 * G1 server: push ingest, a 100k-row pull, snapshot hydration, and many users at once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  G1Device,
  type G1Object,
  type G1PushRow,
  type G1ResponseInfo,
  type G1Target,
  int,
} from '../../interop/g1-client.js';
import { type CpuProbe, type CpuUse, mapLimit, measure, quantile } from './stats.js';

/** One `business.users` row as generated for both servers and the raw baseline. */
export interface UserRow {
  id: string;
  name: string;
  email: string;
}

/** Rows with random UUID keys and ~50-byte name and email each. */
export function makeUserRows(n: number): UserRow[] {
  return Array.from({ length: n }, () => ({
    id: randomUUID(),
    name: `Benchmark User ${randomBytes(18).toString('hex').slice(0, 35)}`,
    email: `bench.${randomBytes(16).toString('hex')}@example.com`,
  }));
}

/** The payload JSON of a row, as the Go client uploads it (all sent columns). */
export function payloadJson(r: UserRow): string {
  return `{"id":${JSON.stringify(r.id)},"name":${JSON.stringify(r.name)},"email":${JSON.stringify(r.email)}}`;
}

/** INSERT push rows for `business.users`. */
export function insertRows(rows: readonly UserRow[]): G1PushRow[] {
  return rows.map((r) => ({
    table: 'users',
    id: r.id,
    op: 'INSERT',
    base: 0,
    payload: payloadJson(r),
  }));
}

// ---------------------------------------------------------------------------------------
// Per-request timing

export type RequestKind =
  | 'connect'
  | 'create'
  | 'chunk'
  | 'commit'
  | 'committed-rows'
  | 'pull'
  | 'snapshot-create'
  | 'snapshot-chunk'
  | 'snapshot-delete'
  | 'other';

function kindOf(method: string, path: string): RequestKind {
  const p = path.split('?')[0] ?? path;
  if (p === '/sync/connect') return 'connect';
  if (p === '/sync/push-sessions') return 'create';
  if (p.startsWith('/sync/push-sessions/')) {
    if (p.endsWith('/chunks')) return 'chunk';
    if (p.endsWith('/commit')) return 'commit';
    return 'other';
  }
  if (p.startsWith('/sync/committed-bundles/')) return 'committed-rows';
  if (p === '/sync/pull') return 'pull';
  if (p === '/sync/snapshot-sessions') return 'snapshot-create';
  if (p.startsWith('/sync/snapshot-sessions/')) {
    return method === 'DELETE' ? 'snapshot-delete' : 'snapshot-chunk';
  }
  return 'other';
}

/** Request timings by kind, collected through `G1Target.onResponse`. */
export class Recorder {
  readonly byKind = new Map<RequestKind, { headersMs: number[]; ms: number[]; chars: number }>();
  /** Every response with a status other than 200/204, whatever the caller did with it. */
  readonly unexpected: G1ResponseInfo[] = [];

  readonly onResponse = (info: G1ResponseInfo): void => {
    if (info.status !== 200 && info.status !== 204) this.unexpected.push(info);
    const kind = kindOf(info.method, info.path);
    let k = this.byKind.get(kind);
    if (!k) {
      k = { headersMs: [], ms: [], chars: 0 };
      this.byKind.set(kind, k);
    }
    k.headersMs.push(info.headersMs);
    k.ms.push(info.ms);
    k.chars += info.chars;
  };

  reset(): void {
    this.byKind.clear();
  }

  ms(kind: RequestKind): number[] {
    return this.byKind.get(kind)?.ms ?? [];
  }

  sum(kind: RequestKind, field: 'ms' | 'headersMs' = 'ms'): number {
    return (this.byKind.get(kind)?.[field] ?? []).reduce((a, b) => a + b, 0);
  }
}

/**
 * `fetch` with the Go client's retry policy (oversqlite/retry.go `defaultRetryPolicy`): the
 * requests the Go client sends through `doAuthenticatedRequestWithRetry` (connect, pull,
 * snapshot create and chunk) are repeated on 429/502/503/504, at most `maxAttempts` (3) attempts, backoff
 * 100 ms doubling (max 1 s) with ±20 % jitter. `retries` counts the repeated requests by status.
 */
export function goRetryFetch(
  retries: Map<number, number>,
  maxAttempts = 3,
  inner: typeof fetch = fetch,
): typeof fetch {
  const retryable = (method: string, path: string) =>
    (method === 'POST' && (path === '/sync/connect' || path === '/sync/snapshot-sessions')) ||
    (method === 'GET' && (path === '/sync/pull' || path.startsWith('/sync/snapshot-sessions/')));
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    if (!retryable(method, url.pathname)) return inner(input, init);
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      const res = await inner(input, init);
      if (![429, 502, 503, 504].includes(res.status) || attempt >= maxAttempts) return res;
      await res.arrayBuffer();
      retries.set(res.status, (retries.get(res.status) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, backoff * (1 + (Math.random() * 2 - 1) * 0.2)));
      backoff = Math.min(backoff * 2, 1000);
    }
  }) as typeof fetch;
}

/** A G1 server under test. */
export interface ServerUnderTest {
  side: 'ours' | 'reference';
  target: G1Target;
  recorder: Recorder;
  probe: CpuProbe | undefined;
  /** Requests repeated by the Go client's retry policy, by status (see {@link goRetryFetch}). */
  retries: Map<number, number>;
}

/** The outcome of one timed run. */
export interface RunResult {
  rate: number;
  ms: number;
  cpu: CpuUse;
  detail: Record<string, number>;
}

const retryTotal = (s: ServerUnderTest): number =>
  [...s.retries.values()].reduce((a, b) => a + b, 0);

function fail(side: string, what: string, detail: unknown): never {
  throw new Error(
    `${side}: ${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`,
  );
}

const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Pushes one bundle and checks the commit answer; returns the commit body. */
async function pushChecked(
  s: ServerUnderTest,
  d: G1Device,
  sourceBundleId: number,
  rows: readonly G1PushRow[],
  chunkRows?: number,
): Promise<G1Object> {
  const res = await d.push(sourceBundleId, rows, chunkRows ? { chunkRows } : {});
  const b = res.body;
  if (res.status !== 200 || !b || typeof b.bundle_hash !== 'string') {
    fail(
      s.side,
      `push ${d.user} #${sourceBundleId}`,
      `HTTP ${res.status} ${res.text.slice(0, 300)}`,
    );
  }
  if (!/^[0-9a-f]{64}$/.test(b.bundle_hash)) fail(s.side, 'bundle_hash', b.bundle_hash);
  if (int(b.row_count) !== BigInt(rows.length)) {
    fail(s.side, `push ${d.user} #${sourceBundleId} row_count`, str(b.row_count));
  }
  if (int(b.source_bundle_id) !== BigInt(sourceBundleId) || b.source_id !== d.source) {
    fail(
      s.side,
      `push ${d.user} #${sourceBundleId} source tuple`,
      `${b.source_id}/${b.source_bundle_id}`,
    );
  }
  return b;
}

async function connectExpect(s: ServerUnderTest, d: G1Device, resolution: string): Promise<void> {
  const r = await d.connect(false);
  if (r.resolution !== resolution) fail(s.side, `connect ${d.user}`, r);
}

/**
 * Fetches a committed bundle's rows (the client verifies rows against `bundle_hash`) and
 * checks them against the commit answer and the pushed keys.
 */
async function verifyCommitted(
  s: ServerUnderTest,
  d: G1Device,
  commit: G1Object,
  pushed: readonly G1PushRow[],
): Promise<void> {
  const { meta, rows } = await d.committedRows(int(commit.bundle_seq));
  if (meta.bundle_hash !== commit.bundle_hash) {
    fail(
      s.side,
      `bundle ${str(commit.bundle_seq)} of ${d.user}`,
      'committed rows carry another bundle_hash than the commit',
    );
  }
  if (rows.length !== pushed.length) {
    fail(
      s.side,
      `bundle ${str(commit.bundle_seq)} of ${d.user}`,
      `${rows.length} of ${pushed.length} rows`,
    );
  }
  const want = new Set(pushed.map((r) => r.id));
  for (const r of rows) {
    const key = (r.key as G1Object).id;
    if (typeof key !== 'string' || !want.has(key) || r.op !== 'INSERT') {
      fail(
        s.side,
        `bundle ${str(commit.bundle_seq)} of ${d.user}`,
        `unexpected row ${str(key)} ${str(r.op)}`,
      );
    }
  }
}

/** A user's device on a server. */
export function device(s: ServerUnderTest, user: string): G1Device {
  return new G1Device(s.target, user, randomUUID());
}

/** Warm-up: connect, one 100-row bundle, its committed rows, a pull and a snapshot. */
export async function warmUp(s: ServerUnderTest, user: string): Promise<void> {
  const d = device(s, user);
  await connectExpect(s, d, 'initialize_empty');
  const rows = insertRows(makeUserRows(100));
  const commit = await pushChecked(s, d, 1, rows);
  await verifyCommitted(s, d, commit, rows);
  const pulled = await d.pullAll(0n, 1000);
  if (pulled.bundles.length !== 1) fail(s.side, 'warm-up pull', `${pulled.bundles.length} bundles`);
  const snap = await d.snapshotAll(1000);
  if (snap.rows.length !== 100) fail(s.side, 'warm-up snapshot', `${snap.rows.length} rows`);
}

// ---------------------------------------------------------------------------------------
// 1. push ingest

/** Push ingest rows, prepared before the clock starts (work a device does on its own CPU). */
export function preparePush(
  devices: number,
  bundles: number,
  rowsPerBundle: number,
): UserRow[][][] {
  return Array.from({ length: devices }, () =>
    Array.from({ length: bundles }, () => makeUserRows(rowsPerBundle)),
  );
}

/**
 * `devices` concurrent devices (own user and source each, connected with initialize_empty
 * first), each pushing its bundles sequentially; then (untimed) the first bundle of every
 * device is fetched back and checked against its bundle_hash.
 */
export async function pushIngest(
  s: ServerUnderTest,
  tag: string,
  work: readonly (readonly UserRow[][])[],
): Promise<RunResult> {
  const devices = work.map((_, i) => device(s, `${tag}-d${i}`));
  const pushRows = work.map((bundles) => bundles.map(insertRows));
  await Promise.all(devices.map((d) => connectExpect(s, d, 'initialize_empty')));
  s.recorder.reset();
  const firstCommits: G1Object[] = [];
  const run = await measure(s.probe, () =>
    Promise.all(
      devices.map(async (d, i) => {
        const bundles = pushRows[i] as G1PushRow[][];
        for (let b = 0; b < bundles.length; b++) {
          const commit = await pushChecked(s, d, b + 1, bundles[b] as G1PushRow[]);
          if (b === 0) firstCommits[i] = commit;
        }
      }),
    ),
  );
  const commits = s.recorder.ms('commit');
  const creates = s.recorder.ms('create');
  const chunks = s.recorder.ms('chunk');
  const totalRows = pushRows.reduce(
    (n, bundles) => n + bundles.reduce((m, b) => m + b.length, 0),
    0,
  );
  await Promise.all(
    devices.map((d, i) =>
      verifyCommitted(
        s,
        d,
        firstCommits[i] as G1Object,
        (pushRows[i] as G1PushRow[][])[0] as G1PushRow[],
      ),
    ),
  );
  return {
    rate: (totalRows / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    detail: {
      rows: totalRows,
      commitP50: quantile(commits, 0.5),
      commitP95: quantile(commits, 0.95),
      createP50: quantile(creates, 0.5),
      chunkP50: quantile(chunks, 0.5),
      bundleRequestP50: quantile(creates, 0.5) + quantile(chunks, 0.5) + quantile(commits, 0.5),
      hashVerifiedBundles: devices.length,
    },
  };
}

// ---------------------------------------------------------------------------------------
// 2./3. the 100k-row user

/**
 * Seeds `user` with the given bundles through the server (untimed). `maintain` runs after
 * every 10th bundle (the caller's ANALYZE, standing in for autovacuum); `ms` is the time spent
 * pushing only.
 */
export async function seedBigUser(
  s: ServerUnderTest,
  user: string,
  bundles: readonly UserRow[][],
  maintain?: () => Promise<void>,
): Promise<{ rows: number; ms: number }> {
  const d = device(s, user);
  await connectExpect(s, d, 'initialize_empty');
  let ms = 0;
  let rows = 0;
  for (let b = 0; b < bundles.length; b++) {
    const pushRows = insertRows(bundles[b] as UserRow[]);
    const t0 = performance.now();
    await pushChecked(s, d, b + 1, pushRows, 1000);
    ms += performance.now() - t0;
    rows += pushRows.length;
    if (maintain && (b + 1) % 10 === 0) await maintain();
  }
  return { rows, ms };
}

/** A second device of the seeded user: connect must answer remote_authoritative. */
export async function readerDevice(s: ServerUnderTest, user: string): Promise<G1Device> {
  const d = device(s, user);
  await connectExpect(s, d, 'remote_authoritative');
  return d;
}

/** A pull from 0 with `max_bundles=1000`, including the client's JSON parse. */
export async function pullAllRows(
  s: ServerUnderTest,
  d: G1Device,
  expectRows: number,
): Promise<RunResult> {
  s.recorder.reset();
  const run = await measure(s.probe, () => d.pullAll(0n, 1000));
  let rows = 0;
  for (const b of run.value.bundles) rows += (b.rows as unknown[]).length;
  if (rows !== expectRows) fail(s.side, 'pull', `${rows} rows, expected ${expectRows}`);
  const httpMs = s.recorder.sum('pull');
  return {
    rate: (rows / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    detail: {
      rows,
      bundles: run.value.bundles.length,
      pages: s.recorder.ms('pull').length,
      serverToHeadersMs: s.recorder.sum('pull', 'headersMs'),
      httpMs,
      clientParseMs: run.ms - httpMs,
      responseMB: (s.recorder.byKind.get('pull')?.chars ?? 0) / 1e6,
    },
  };
}

/** Snapshot create + every chunk of `maxRows` (the session DELETE is not counted). */
export async function snapshotRows(
  s: ServerUnderTest,
  d: G1Device,
  maxRows: number,
  expectRows: number,
): Promise<RunResult> {
  s.recorder.reset();
  const run = await measure(s.probe, () => d.snapshotAll(maxRows));
  const rows = run.value.rows.length;
  if (rows !== expectRows || int(run.value.session.row_count) !== BigInt(expectRows)) {
    fail(
      s.side,
      'snapshot',
      `${rows} rows (row_count ${str(run.value.session.row_count)}), expected ${expectRows}`,
    );
  }
  const deleteMs = s.recorder.sum('snapshot-delete');
  const ms = run.ms - deleteMs;
  return {
    rate: (rows / ms) * 1000,
    ms,
    cpu: run.cpu,
    detail: {
      rows,
      chunks: s.recorder.ms('snapshot-chunk').length,
      createMs: s.recorder.sum('snapshot-create'),
      chunkHttpMs: s.recorder.sum('snapshot-chunk'),
      chunkToHeadersMs: s.recorder.sum('snapshot-chunk', 'headersMs'),
      clientParseMs: ms - s.recorder.sum('snapshot-create') - s.recorder.sum('snapshot-chunk'),
      deleteMs,
    },
  };
}

// ---------------------------------------------------------------------------------------
// 4. many users at once

/**
 * `rows.length` users, at most `concurrency` in flight: connect, push one bundle, pull to
 * stable, create and read a snapshot. Errors are counted (and the first few kept).
 */
export async function manyUsers(
  s: ServerUnderTest,
  tag: string,
  rows: readonly UserRow[][],
  concurrency: number,
): Promise<RunResult & { errors: string[] }> {
  const errors: string[] = [];
  const latencies: number[] = [];
  s.recorder.reset();
  const retriesBefore = retryTotal(s);
  const run = await measure(s.probe, () =>
    mapLimit(rows, concurrency, async (userRows, i) => {
      const t0 = performance.now();
      try {
        const d = device(s, `${tag}-u${i}`);
        await connectExpect(s, d, 'initialize_empty');
        const pushRows = insertRows(userRows);
        const commit = await pushChecked(s, d, 1, pushRows);
        const pulled = await d.pullAll(0n, 1000);
        const got = pulled.bundles.reduce((n, b) => n + (b.rows as unknown[]).length, 0);
        if (pulled.bundles.length !== 1 || got !== pushRows.length) {
          fail(s.side, `pull ${d.user}`, `${pulled.bundles.length} bundles, ${got} rows`);
        }
        if (pulled.stable !== int(commit.bundle_seq)) {
          fail(
            s.side,
            `pull ${d.user}`,
            `stable ${pulled.stable} ≠ committed ${str(commit.bundle_seq)}`,
          );
        }
        const snap = await d.snapshotAll(1000);
        if (snap.rows.length !== pushRows.length) {
          fail(s.side, `snapshot ${d.user}`, `${snap.rows.length} rows`);
        }
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }),
  );
  return {
    rate: ((rows.length - errors.length) / run.ms) * 1000,
    ms: run.ms,
    cpu: run.cpu,
    errors,
    detail: {
      users: rows.length,
      errors: errors.length,
      wallS: run.ms / 1000,
      userP50: quantile(latencies, 0.5),
      userP95: quantile(latencies, 0.95),
      requests: [...s.recorder.byKind.values()].reduce((n, k) => n + k.ms.length, 0),
      retries: retryTotal(s) - retriesBefore,
      snapshotCreateP50: quantile(s.recorder.ms('snapshot-create'), 0.5),
      snapshotCreateP95: quantile(s.recorder.ms('snapshot-create'), 0.95),
    },
  };
}
