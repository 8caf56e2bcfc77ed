/**
 * A minimal G1 (go-oversync @1f1118f wire) HTTP client for interop runs: the same code
 * drives our server's G1 mount and any other G1 server (the reference), so differences in
 * results come from the servers, not from the clients.
 *
 * It speaks the wire only (no local database): bundles are built by the caller, responses
 * are parsed without losing number digits, and every commit's `bundle_hash` is checked the
 * way the Go client checks it.
 *
 * @module
 */

import {
  type G1HashRow,
  g1BundleHash,
  JsonNumber,
  type LosslessValue,
  parseLosslessJson,
} from '@oversync/protocol';
import { SignJWT } from 'jose';

/** A parsed JSON object (numbers kept as {@link JsonNumber}). */
export type G1Object = { [key: string]: LosslessValue };

/** One row a device uploads. */
export interface G1PushRow {
  table: string;
  id: string;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  base: number | bigint;
  /** Payload as JSON text (numbers exactly as written); omitted for DELETE. */
  payload?: string;
}

/** What a server is reached with. */
export interface G1Target {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** HS256 secret both sides share (go-oversync's example server: `JWT_SECRET`). */
  jwtSecret: string;
  /** @default 'business' */
  schema?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Called after each response body was read, before it is parsed (timing hooks). */
  onResponse?: (info: G1ResponseInfo) => void;
}

/** What {@link G1Target.onResponse} receives. */
export interface G1ResponseInfo {
  method: string;
  /** Path and query, as requested. */
  path: string;
  status: number;
  /** Milliseconds from sending the request to the response headers. */
  headersMs: number;
  /** Milliseconds from sending the request to the end of the body. */
  ms: number;
  /** Length of the body text in UTF-16 code units. */
  chars: number;
}

/** A response: status, raw text and the lossless parse (undefined for an empty body). */
export interface G1Response {
  status: number;
  text: string;
  body: G1Object | undefined;
}

/** An error for a response the caller did not expect. */
export class G1HttpError extends Error {
  constructor(
    readonly what: string,
    readonly response: G1Response,
  ) {
    super(`${what}: HTTP ${response.status} ${response.text.slice(0, 300)}`);
  }
}

/** Integer value of a JSON number member. */
export function int(v: LosslessValue | undefined): bigint {
  if (v instanceof JsonNumber) return BigInt(v.text);
  throw new TypeError(`expected a JSON number, got ${JSON.stringify(v)}`);
}

const tokenCache = new Map<string, string>();

/**
 * A token the go-oversync example server accepts (HS256, `sub` = user, issuer
 * `go-oversync-examples`), which our `jwtAuth` with the same secret accepts too.
 *
 * @example
 * ```ts
 * const token = await g1Token('secret', 'user-1');
 * ```
 */
export async function g1Token(secret: string, user: string): Promise<string> {
  const k = `${secret}\u0000${user}`;
  const hit = tokenCache.get(k);
  if (hit) return hit;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user)
    .setIssuer('go-oversync-examples')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 24 * 3600)
    .sign(new TextEncoder().encode(secret));
  tokenCache.set(k, token);
  return token;
}

/**
 * One device (user + source id) talking G1 to one server.
 *
 * @example
 * ```ts
 * const d = new G1Device({ baseUrl, jwtSecret }, 'user-1', randomUUID());
 * await d.connect(false);
 * const commit = await d.push(1, [{ table: 'users', id, op: 'INSERT', base: 0, payload }]);
 * ```
 */
export class G1Device {
  readonly schema: string;
  readonly #fetch: typeof fetch;

  constructor(
    readonly target: G1Target,
    readonly user: string,
    readonly source: string,
  ) {
    this.schema = target.schema ?? 'business';
    this.#fetch = target.fetch ?? globalThis.fetch;
  }

  /** Sends one request with the device's credentials. */
  async request(method: string, path: string, body?: string): Promise<G1Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${await g1Token(this.target.jwtSecret, this.user)}`,
      'oversync-source-id': this.source,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const t0 = performance.now();
    const res = await this.#fetch(`${this.target.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const headersMs = performance.now() - t0;
    const text = await res.text();
    this.target.onResponse?.({
      method,
      path,
      status: res.status,
      headersMs,
      ms: performance.now() - t0,
      chars: text.length,
    });
    let parsed: G1Object | undefined;
    if (text.trim() !== '') {
      try {
        parsed = parseLosslessJson(text) as G1Object;
      } catch {
        parsed = undefined;
      }
    }
    return { status: res.status, text, body: parsed };
  }

  /** Like {@link request}, but throws unless the status is `expect`. */
  async ok(method: string, path: string, body?: string, expect = 200): Promise<G1Object> {
    const r = await this.request(method, path, body);
    if (r.status !== expect) throw new G1HttpError(`${method} ${path}`, r);
    return r.body ?? {};
  }

  /** `POST /sync/connect`; returns the resolution object. */
  connect(hasLocalPendingRows: boolean): Promise<G1Object> {
    return this.ok('POST', '/sync/connect', `{"has_local_pending_rows":${hasLocalPendingRows}}`);
  }

  /** Row JSON exactly as the Go client uploads it. */
  rowJson(r: G1PushRow): string {
    return `{"schema":${JSON.stringify(this.schema)},"table":${JSON.stringify(r.table)},"key":{"id":${JSON.stringify(
      r.id,
    )}},"op":"${r.op}","base_row_version":${r.base}${r.payload === undefined ? '' : `,"payload":${r.payload}`}}`;
  }

  /**
   * Uploads `rows` as one bundle (create, chunks of `chunkRows`, commit) and returns the
   * commit response, or the raw response when `allowStatus` lists its status.
   */
  async push(
    sourceBundleId: number | bigint,
    rows: readonly G1PushRow[],
    options: { chunkRows?: number; initializationId?: string } = {},
  ): Promise<G1Response> {
    const init = options.initializationId
      ? `,"initialization_id":${JSON.stringify(options.initializationId)}`
      : '';
    const created = await this.request(
      'POST',
      '/sync/push-sessions',
      `{"source_bundle_id":${sourceBundleId},"planned_row_count":${rows.length}${init}}`,
    );
    if (created.status !== 200 || created.body?.status !== 'staging') return created;
    const pushId = created.body.push_id as string;
    const size = options.chunkRows ?? 1000;
    for (let start = 0; start < rows.length; start += size) {
      const part = rows.slice(start, start + size);
      const chunk = await this.request(
        'POST',
        `/sync/push-sessions/${pushId}/chunks`,
        `{"start_row_ordinal":${start},"rows":[${part.map((r) => this.rowJson(r)).join(',')}]}`,
      );
      if (chunk.status !== 200) return chunk;
    }
    return this.request('POST', `/sync/push-sessions/${pushId}/commit`);
  }

  /** All committed rows of a bundle, paged like the Go client, with its hash verified. */
  async committedRows(
    bundleSeq: bigint,
    pageRows = 1000,
  ): Promise<{ meta: G1Object; rows: G1Object[] }> {
    const rows: G1Object[] = [];
    let after: bigint | undefined;
    let meta: G1Object = {};
    for (;;) {
      const q = `max_rows=${pageRows}${after === undefined ? '' : `&after_row_ordinal=${after}`}`;
      meta = await this.ok('GET', `/sync/committed-bundles/${bundleSeq}/rows?${q}`);
      rows.push(...(meta.rows as G1Object[]));
      after = int(meta.next_row_ordinal);
      if (meta.has_more !== true) break;
    }
    const hash = await g1RowsHash(rows);
    if (hash !== meta.bundle_hash) {
      throw new Error(
        `bundle ${bundleSeq}: bundle_hash ${meta.bundle_hash} but rows hash to ${hash}`,
      );
    }
    return { meta, rows };
  }

  /** Pulls everything after `after` to a frozen ceiling; returns the bundles in order. */
  async pullAll(after = 0n, maxBundles = 1000): Promise<{ stable: bigint; bundles: G1Object[] }> {
    const bundles: G1Object[] = [];
    let target = 0n;
    let cursor = after;
    for (;;) {
      const q = `after_bundle_seq=${cursor}&max_bundles=${maxBundles}${target > 0n ? `&target_bundle_seq=${target}` : ''}`;
      const page = await this.ok('GET', `/sync/pull?${q}`);
      const stable = int(page.stable_bundle_seq);
      if (target === 0n) target = stable;
      const got = page.bundles as G1Object[];
      bundles.push(...got);
      const last = got.at(-1);
      if (last) cursor = int(last.bundle_seq);
      if (page.has_more !== true || cursor >= stable) return { stable, bundles };
    }
  }

  /** Creates a snapshot session and reads every chunk; deletes the session afterwards. */
  async snapshotAll(maxRows = 1000): Promise<{ session: G1Object; rows: G1Object[] }> {
    const session = await this.ok('POST', '/sync/snapshot-sessions');
    const id = session.snapshot_id as string;
    const rows: G1Object[] = [];
    let after = 0n;
    for (;;) {
      const chunk = await this.ok(
        'GET',
        `/sync/snapshot-sessions/${id}?after_row_ordinal=${after}&max_rows=${maxRows}`,
      );
      rows.push(...(chunk.rows as G1Object[]));
      after = int(chunk.next_row_ordinal);
      if (chunk.has_more !== true) break;
    }
    await this.request('DELETE', `/sync/snapshot-sessions/${id}`);
    return { session, rows };
  }
}

/** The G1 `bundle_hash` of rows in stream order, computed as the Go client does. */
export async function g1RowsHash(rows: readonly G1Object[]): Promise<string> {
  const hashRows: G1HashRow[] = rows.map((r) => ({
    schema: r.schema as string,
    table: r.table as string,
    key: r.key as Record<string, string>,
    op: r.op as 'INSERT' | 'UPDATE' | 'DELETE',
    rowVersion: int(r.row_version),
    payload: r.payload ?? null,
  }));
  return (await g1BundleHash(hashRows)).bundleHash;
}
