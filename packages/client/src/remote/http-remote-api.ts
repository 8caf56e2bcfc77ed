/**
 * {@link RemoteApi} over `fetch`: request building (base path, source header, bearer token),
 * bounded response reading, strict JSON decoding (no duplicate object members), error mapping and
 * the `GET /sync/watch` Server-Sent Events stream.
 *
 * Every request carries `Oversync-Source-ID`; request bodies are built member by member from the
 * typed inputs, so a top-level `source_id` can never reach the wire.
 *
 * @module
 */

import {
  CapabilitiesResponseSchema,
  CommittedBundleRowsResponseSchema,
  ConnectResponseSchema,
  createSseParser,
  isValidSourceId,
  PushChunkResponseSchema,
  PushCommitResponseSchema,
  PushSessionCreateResponseSchema,
  parseWatchEvent,
  SOURCE_ID_HEADER,
  type SourceReplacement,
} from '@oversync/protocol';
import * as v from 'valibot';
import { clientError, isOversyncClientError, type OversyncClientError } from '../errors.js';
import type { RemoteApi, RequestContext, WatchStream, WatchStreamItem } from './remote-api.js';
import {
  decodeSnapshotChunk,
  validatePullResponse,
  validateSnapshotSession,
} from './validate-responses.js';

/**
 * Options of {@link createHttpRemoteApi}.
 *
 * @example
 * ```ts
 * const options: HttpRemoteApiOptions = {
 *   baseUrl: 'https://sync.example.com/api/v1',
 *   getToken: () => auth.currentAccessToken(),
 * };
 * ```
 */
export interface HttpRemoteApiOptions {
  /** Server base URL; its path is kept (`…/api/v1` + `sync/pull` → `/api/v1/sync/pull`). */
  readonly baseUrl: string | URL;
  /** `fetch` implementation (default: the global one, looked up per request). */
  readonly fetch?: typeof fetch;
  /**
   * Bearer token provider, called before every request. `undefined` or `''` sends no
   * `Authorization` header. A throwing provider fails the call with `auth_failed`.
   */
  readonly getToken?: () => string | undefined | Promise<string | undefined>;
  /** Extra headers sent with every request; the protocol headers override them. */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Upper bound, in bytes, for response bodies whose size the protocol does not bound (pull
   * pages, committed-bundle pages); it also caps the protocol-bounded JSON bodies (see
   * {@link RESPONSE_BYTE_LIMITS}) when smaller. Snapshot chunks are bounded by their request
   * alone (`max_bytes + max_rows + 64 KiB`). Default {@link DEFAULT_MAX_RESPONSE_BYTES}.
   */
  readonly maxResponseBytes?: number;
}

/**
 * Default of {@link HttpRemoteApiOptions.maxResponseBytes}: 64 MiB.
 *
 * @example
 * ```ts
 * createHttpRemoteApi({ baseUrl, maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES / 4 });
 * ```
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Response body limits fixed by the G2 protocol (what the KMP and Dart clients enforce).
 * A snapshot chunk may hold `max_bytes + max_rows + snapshotChunkSlack` bytes.
 *
 * @example
 * ```ts
 * const chunkLimit = maxBytes + maxRows + RESPONSE_BYTE_LIMITS.snapshotChunkSlack;
 * ```
 */
export const RESPONSE_BYTE_LIMITS = Object.freeze({
  /** Error bodies are read up to this size; a longer body is dropped, the status kept. */
  errorBody: 64 * 1024,
  capabilities: 4 * 1024 * 1024,
  snapshotSession: 64 * 1024,
  snapshotChunkSlack: 64 * 1024,
  /** Small envelopes: connect and push-session responses. */
  envelope: 1024 * 1024,
  /** Longest SSE line or event on the watch stream (the Kotlin client's bound). */
  watchLine: 1024 * 1024,
});

/** Deepest JSON nesting accepted in a response body. */
const MAX_JSON_DEPTH = 128;

type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** One request as the client builds it, before headers and the base URL are applied. */
interface Call {
  readonly operation: string;
  readonly method: HttpMethod;
  /** Path relative to the base URL, without a leading slash. */
  readonly path: string;
  readonly query?: Readonly<Record<string, number | undefined>>;
  readonly body?: unknown;
}

/** Identifies a call in error details. */
interface CallInfo {
  readonly operation: string;
  readonly method: HttpMethod;
  readonly path: string;
}

/**
 * Parses a `Retry-After` value as delta-seconds: a positive decimal integer (surrounding spaces
 * allowed). HTTP-dates, `0`, negative, fractional and empty values give `undefined`, as the
 * shared `snapshot-capacity/retry.json` contract requires.
 *
 * @example
 * ```ts
 * parseRetryAfterSeconds('30'); // 30
 * parseRetryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT'); // undefined
 * ```
 */
export function parseRetryAfterSeconds(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (!/^[0-9]+$/.test(text)) return undefined;
  const seconds = Number(text);
  // Milliseconds must stay exact for the retry arithmetic.
  if (seconds <= 0 || !Number.isSafeInteger(seconds * 1000)) return undefined;
  return seconds;
}

/**
 * Returns the path of the first duplicated object member in a JSON document (e.g.
 * `$.bundles[0].rows`), or `undefined` when there is none. Member names are compared after
 * unescaping, so `"a"` and `"\u0061"` collide. Throws a `RangeError` when nesting exceeds
 * `maxDepth`. The document must already be valid JSON (parse it first); the scan does not
 * re-validate the grammar.
 *
 * It scans UTF-8 bytes (every JSON structural character is ASCII) with monomorphic state in
 * flat arrays, so its cost stays linear and predictable on multi-megabyte snapshot chunks.
 *
 * @example
 * ```ts
 * findDuplicateJsonMember('{"a":1,"b":{"c":1,"c":2}}'); // '$.b.c'
 * findDuplicateJsonMember('[{"a":1},{"a":2}]'); // undefined
 * ```
 */
export function findDuplicateJsonMember(
  json: string | Uint8Array,
  maxDepth = MAX_JSON_DEPTH,
): string | undefined {
  const bytes = typeof json === 'string' ? new TextEncoder().encode(json) : json;
  const decoder = new TextDecoder();
  // Per open container: its member names (null for arrays), whether the next string is a member
  // name, the current array index and the current member name (for the reported path).
  const names: (Set<string> | null)[] = [];
  const expectName: boolean[] = [];
  const index: number[] = [];
  const member: string[] = [];
  const pathOf = (depth: number, last: string): string => {
    let path = '$';
    for (let d = 0; d < depth; d++) {
      path += names[d] === null ? `[${index[d]}]` : `.${member[d]}`;
    }
    return `${path}.${last}`;
  };
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const c = bytes[i] as number;
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let j = start;
      let escaped = false;
      while (j < n) {
        const b = bytes[j] as number;
        if (b === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (b === 0x22) {
          break;
        } else {
          j++;
        }
      }
      if (j >= n) return undefined; // unterminated: not valid JSON, nothing to report
      const depth = names.length;
      const set = depth > 0 ? names[depth - 1] : null;
      if (set && expectName[depth - 1]) {
        const raw = decoder.decode(bytes.subarray(start, j));
        const name = escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (set.has(name)) return pathOf(depth - 1, name);
        set.add(name);
        member[depth - 1] = name;
        expectName[depth - 1] = false;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (names.length >= maxDepth) throw new RangeError(`JSON nesting deeper than ${maxDepth}`);
      names.push(c === 0x7b ? new Set<string>() : null);
      expectName.push(c === 0x7b);
      index.push(0);
      member.push('');
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      names.pop();
      expectName.pop();
      index.pop();
      member.pop();
    } else if (c === 0x2c /* , */) {
      const top = names.length - 1;
      if (top >= 0) {
        if (names[top] === null) index[top] = (index[top] as number) + 1;
        else expectName[top] = true;
      }
    }
    i++;
  }
  return undefined;
}

/** `aborted` error for a cancelled call. */
function abortedError(info: CallInfo, cause?: unknown): OversyncClientError {
  return clientError(
    'aborted',
    `${info.operation} aborted`,
    { method: info.method, path: info.path, operation: info.operation },
    cause,
  );
}

function isAbortLike(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}

/** Maps a failure of `fetch` or of a body read to `aborted` or `network_error`. */
function transportError(error: unknown, info: CallInfo, signal?: AbortSignal): OversyncClientError {
  if (isOversyncClientError(error)) return error;
  if (signal?.aborted === true || isAbortLike(error)) return abortedError(info, error);
  const reason = error instanceof Error ? error.message : String(error);
  return clientError(
    'network_error',
    `${info.operation} failed: ${reason}`,
    { method: info.method, path: info.path, operation: info.operation },
    error,
  );
}

function protocolError(info: CallInfo, message: string, extra: Record<string, unknown> = {}) {
  return clientError('protocol_error', `${info.operation} response: ${message}`, {
    method: info.method,
    path: info.path,
    operation: info.operation,
    ...extra,
  });
}

/** Cancels a body without waiting for or surfacing the outcome. */
function discardBody(response: Response): void {
  if (response.body !== null && !response.bodyUsed) {
    response.body.cancel().catch(() => {});
  }
}

/**
 * Reads at most `limit` bytes of `response`'s body. Returns `undefined` when the body is longer
 * (the rest is cancelled).
 */
async function readBodyBytes(
  response: Response,
  limit: number,
  info: CallInfo,
  signal?: AbortSignal,
): Promise<Uint8Array | undefined> {
  const declared = response.headers.get('content-length');
  if (declared !== null && /^[0-9]+$/.test(declared.trim()) && Number(declared) > limit) {
    discardBody(response);
    return undefined;
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      parts.push(value);
    }
  } catch (error) {
    throw transportError(error, info, signal);
  }
  if (parts.length === 1) return parts[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  return bytes;
}

/** Reads a 2xx body as bounded, strictly decoded JSON. */
async function readJson(
  response: Response,
  limit: number,
  info: CallInfo,
  signal?: AbortSignal,
): Promise<unknown> {
  const bytes = await readBodyBytes(response, limit, info, signal);
  if (bytes === undefined) {
    throw protocolError(info, `body exceeds ${limit} bytes`, {
      status: response.status,
      limit,
    });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw protocolError(info, 'body is not valid UTF-8', { status: response.status });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw protocolError(info, 'body is not valid JSON', { status: response.status });
  }
  let duplicate: string | undefined;
  try {
    duplicate = findDuplicateJsonMember(bytes);
  } catch (error) {
    throw protocolError(info, (error as Error).message, { status: response.status });
  }
  if (duplicate !== undefined) {
    throw protocolError(info, `duplicate JSON object member ${duplicate}`, {
      status: response.status,
      member: duplicate,
    });
  }
  return json;
}

/** Decodes `json` with `schema`, mapping failure to `protocol_error` naming the first issue. */
function decodeWith<S extends v.GenericSchema>(
  schema: S,
  json: unknown,
  info: CallInfo,
): v.InferOutput<S> {
  const result = v.safeParse(schema, json);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  throw protocolError(info, `${where === '' ? 'body' : where}: ${issue.message}`);
}

/** Builds the `http_error` for a non-2xx response (reads the error body, bounded). */
async function httpError(
  response: Response,
  info: CallInfo,
  signal?: AbortSignal,
): Promise<OversyncClientError> {
  const bytes = await readBodyBytes(response, RESPONSE_BYTE_LIMITS.errorBody, info, signal);
  let body: unknown;
  let serverError: string | undefined;
  let serverMessage: string | undefined;
  if (bytes !== undefined && bytes.byteLength > 0) {
    const text = new TextDecoder().decode(bytes);
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const record = body as Record<string, unknown>;
      if (typeof record.error === 'string' && record.error !== '') serverError = record.error;
      if (typeof record.message === 'string') serverMessage = record.message;
    }
  }
  const retryAfterSeconds = parseRetryAfterSeconds(response.headers.get('retry-after'));
  const summary = [
    `HTTP ${response.status}`,
    serverError,
    serverMessage === undefined || serverMessage === '' ? undefined : `- ${serverMessage}`,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
  return clientError('http_error', `${info.operation} failed: ${summary}`, {
    status: response.status,
    method: info.method,
    path: info.path,
    operation: info.operation,
    ...(serverError === undefined ? {} : { serverError }),
    ...(body === undefined ? {} : { body }),
    ...(bytes === undefined ? { bodyTruncated: true } : {}),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

function checkNotAborted(info: CallInfo, signal?: AbortSignal): void {
  if (signal?.aborted === true) throw abortedError(info, signal.reason);
}

/** Requires a non-negative safe integer request argument (a caller bug otherwise). */
function requireWireInteger(value: number, name: string, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw clientError('configuration', `${name} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * Creates the fetch-based {@link RemoteApi}.
 *
 * @example
 * ```ts
 * const remote = createHttpRemoteApi({
 *   baseUrl: 'https://sync.example.com/api/v1',
 *   getToken: async () => (await session()).accessToken,
 * });
 * const caps = await remote.capabilities({ sourceId });
 * const page = await remote.pull({ sourceId }, { afterBundleSeq: 0, maxBundles: 1000 });
 * ```
 */
export function createHttpRemoteApi(options: HttpRemoteApiOptions): RemoteApi {
  const base = new URL(String(options.baseUrl));
  if (!base.pathname.endsWith('/')) base.pathname = `${base.pathname}/`;
  base.search = '';
  base.hash = '';
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes <= 0) {
    throw clientError('configuration', 'maxResponseBytes must be a positive integer');
  }
  const defaultHeaders = { ...options.headers };

  const urlFor = (call: Call): URL => {
    const url = new URL(call.path, base);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  };

  const infoOf = (call: Call): CallInfo => ({
    operation: call.operation,
    method: call.method,
    path: urlFor(call).pathname,
  });

  /** Sends one request; resolves with the response of any status. */
  const send = async (ctx: RequestContext, call: Call, accept: string): Promise<Response> => {
    const url = urlFor(call);
    const info = infoOf(call);
    checkNotAborted(info, ctx.signal);
    if (!isValidSourceId(ctx.sourceId)) {
      throw clientError('configuration', `invalid source id ${JSON.stringify(ctx.sourceId)}`, {
        operation: call.operation,
      });
    }
    const headers = new Headers(defaultHeaders);
    headers.set('Accept', accept);
    headers.set(SOURCE_ID_HEADER, ctx.sourceId);
    if (options.getToken !== undefined) {
      let token: string | undefined;
      try {
        token = await options.getToken();
      } catch (error) {
        throw clientError(
          'auth_failed',
          `${call.operation}: token provider failed`,
          { operation: call.operation },
          error,
        );
      }
      if (token !== undefined && token !== '') headers.set('Authorization', `Bearer ${token}`);
    }
    checkNotAborted(info, ctx.signal);
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      headers.set('Content-Type', 'application/json');
      init.body = JSON.stringify(call.body);
    }
    if (ctx.signal !== undefined) init.signal = ctx.signal;
    try {
      return await fetchImpl(url.toString(), init);
    } catch (error) {
      throw transportError(error, info, ctx.signal);
    }
  };

  /** Sends a JSON call; returns the decoded 2xx body, throws `http_error` otherwise. */
  const callJson = async (ctx: RequestContext, call: Call, limit: number): Promise<unknown> => {
    const response = await send(ctx, call, 'application/json');
    const info = infoOf(call);
    if (!response.ok) throw await httpError(response, info, ctx.signal);
    return readJson(response, Math.min(limit, maxResponseBytes), info, ctx.signal);
  };

  /** Best-effort DELETE: only an abort is surfaced. */
  const bestEffortDelete = async (ctx: RequestContext, call: Call): Promise<void> => {
    try {
      const response = await send(ctx, call, 'application/json');
      discardBody(response);
    } catch (error) {
      if (isOversyncClientError(error, 'aborted')) throw error;
    }
  };

  return {
    async capabilities(ctx) {
      const call: Call = { operation: 'capabilities', method: 'GET', path: 'sync/capabilities' };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.capabilities);
      return decodeWith(CapabilitiesResponseSchema, json, infoOf(call));
    },

    async connect(ctx, body) {
      const call: Call = {
        operation: 'connect',
        method: 'POST',
        path: 'sync/connect',
        body: { has_local_pending_rows: body.has_local_pending_rows },
      };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.envelope);
      const response = decodeWith(ConnectResponseSchema, json, infoOf(call));
      const hasLease = response.initialization_id !== undefined;
      if (response.resolution === 'initialize_local' && !hasLease) {
        throw protocolError(infoOf(call), 'initialize_local without initialization_id');
      }
      if (response.resolution !== 'initialize_local' && hasLease) {
        throw protocolError(
          infoOf(call),
          `initialization_id must be absent for resolution ${response.resolution}`,
        );
      }
      return response;
    },

    async createPushSession(ctx, input) {
      requireWireInteger(input.source_bundle_id, 'source_bundle_id', 1);
      requireWireInteger(input.planned_row_count, 'planned_row_count', 1);
      const body: Record<string, unknown> = {
        source_bundle_id: input.source_bundle_id,
        planned_row_count: input.planned_row_count,
        canonical_request_hash: input.canonical_request_hash,
      };
      if (input.initialization_id !== undefined) body.initialization_id = input.initialization_id;
      const call: Call = {
        operation: 'createPushSession',
        method: 'POST',
        path: 'sync/push-sessions',
        body,
      };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.envelope);
      return decodeWith(PushSessionCreateResponseSchema, json, infoOf(call));
    },

    async uploadPushChunk(ctx, pushId, input) {
      requireWireInteger(input.start_row_ordinal, 'start_row_ordinal');
      const call: Call = {
        operation: 'uploadPushChunk',
        method: 'POST',
        path: `sync/push-sessions/${encodeURIComponent(pushId)}/chunks`,
        body: {
          start_row_ordinal: input.start_row_ordinal,
          rows: input.rows.map((row) => {
            const wire: Record<string, unknown> = {
              schema: row.schema,
              table: row.table,
              key: row.key,
              op: row.op,
              base_row_version: row.base_row_version,
            };
            if (row.payload !== undefined) wire.payload = row.payload;
            return wire;
          }),
        },
      };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.envelope);
      const info = infoOf(call);
      const response = decodeWith(PushChunkResponseSchema, json, info);
      if (response.push_id !== pushId) {
        throw protocolError(info, `push_id ${response.push_id} does not match ${pushId}`);
      }
      const expected = input.start_row_ordinal + input.rows.length;
      if (response.next_expected_row_ordinal !== expected) {
        throw protocolError(
          info,
          `next_expected_row_ordinal ${response.next_expected_row_ordinal} does not match expected ${expected}`,
        );
      }
      return response;
    },

    async commitPushSession(ctx, pushId) {
      const call: Call = {
        operation: 'commitPushSession',
        method: 'POST',
        path: `sync/push-sessions/${encodeURIComponent(pushId)}/commit`,
      };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.envelope);
      return decodeWith(PushCommitResponseSchema, json, infoOf(call));
    },

    deletePushSession(ctx, pushId) {
      return bestEffortDelete(ctx, {
        operation: 'deletePushSession',
        method: 'DELETE',
        path: `sync/push-sessions/${encodeURIComponent(pushId)}`,
      });
    },

    async committedBundleRows(ctx, bundleSeq, query) {
      requireWireInteger(bundleSeq, 'bundleSeq', 1);
      requireWireInteger(query.maxRows, 'maxRows', 1);
      if (query.afterRowOrdinal !== undefined) {
        requireWireInteger(query.afterRowOrdinal, 'afterRowOrdinal');
      }
      const call: Call = {
        operation: 'committedBundleRows',
        method: 'GET',
        path: `sync/committed-bundles/${bundleSeq}/rows`,
        query: { after_row_ordinal: query.afterRowOrdinal, max_rows: query.maxRows },
      };
      const json = await callJson(ctx, call, maxResponseBytes);
      const info = infoOf(call);
      const response = decodeWith(CommittedBundleRowsResponseSchema, json, info);
      if (response.bundle_seq !== bundleSeq) {
        throw protocolError(info, `bundle_seq ${response.bundle_seq} does not match ${bundleSeq}`);
      }
      return response;
    },

    async pull(ctx, query) {
      requireWireInteger(query.afterBundleSeq, 'afterBundleSeq');
      requireWireInteger(query.maxBundles, 'maxBundles', 1);
      if (query.targetBundleSeq !== undefined) {
        requireWireInteger(query.targetBundleSeq, 'targetBundleSeq');
      }
      const call: Call = {
        operation: 'pull',
        method: 'GET',
        path: 'sync/pull',
        query: {
          after_bundle_seq: query.afterBundleSeq,
          max_bundles: query.maxBundles,
          target_bundle_seq: query.targetBundleSeq,
        },
      };
      const json = await callJson(ctx, call, maxResponseBytes);
      // The frozen-ceiling comparison belongs to the pull workflow, which reports it with both
      // values; here only the response's own consistency is checked.
      return validatePullResponse(json, { afterBundleSeq: query.afterBundleSeq });
    },

    async createSnapshotSession(ctx, body) {
      let wireBody: { source_replacement: SourceReplacement } | undefined;
      if (body !== undefined) {
        const r = body.source_replacement;
        wireBody = {
          source_replacement: {
            previous_source_id: r.previous_source_id,
            new_source_id: r.new_source_id,
            reason: r.reason,
          },
        };
      }
      const call: Call = {
        operation: 'createSnapshotSession',
        method: 'POST',
        path: 'sync/snapshot-sessions',
        ...(wireBody === undefined ? {} : { body: wireBody }),
      };
      const json = await callJson(ctx, call, RESPONSE_BYTE_LIMITS.snapshotSession);
      return validateSnapshotSession(json);
    },

    async snapshotChunk(ctx, snapshotId, query) {
      requireWireInteger(query.afterRowOrdinal, 'afterRowOrdinal');
      requireWireInteger(query.maxRows, 'maxRows', 1);
      requireWireInteger(query.maxBytes, 'maxBytes', 1);
      const call: Call = {
        operation: 'snapshotChunk',
        method: 'GET',
        path: `sync/snapshot-sessions/${encodeURIComponent(snapshotId)}`,
        query: {
          after_row_ordinal: query.afterRowOrdinal,
          max_rows: query.maxRows,
          max_bytes: query.maxBytes,
        },
      };
      const response = await send(ctx, call, 'application/json');
      const info = infoOf(call);
      if (!response.ok) throw await httpError(response, info, ctx.signal);
      // The protocol bounds a chunk by its request, independent of maxResponseBytes.
      const limit = query.maxBytes + query.maxRows + RESPONSE_BYTE_LIMITS.snapshotChunkSlack;
      const json = await readJson(response, limit, info, ctx.signal);
      return decodeSnapshotChunk(json, {
        snapshotId,
        afterRowOrdinal: query.afterRowOrdinal,
        maxRows: query.maxRows,
        maxBytes: query.maxBytes,
      });
    },

    deleteSnapshotSession(ctx, snapshotId) {
      return bestEffortDelete(ctx, {
        operation: 'deleteSnapshotSession',
        method: 'DELETE',
        path: `sync/snapshot-sessions/${encodeURIComponent(snapshotId)}`,
      });
    },

    async watch(ctx, afterBundleSeq) {
      requireWireInteger(afterBundleSeq, 'afterBundleSeq');
      const call: Call = {
        operation: 'watch',
        method: 'GET',
        path: 'sync/watch',
        query: { after_bundle_seq: afterBundleSeq },
      };
      const response = await send(ctx, call, 'text/event-stream');
      const info = infoOf(call);
      if (!response.ok) throw await httpError(response, info, ctx.signal);
      const contentType = response.headers.get('content-type');
      if (contentType !== null && !/^\s*text\/event-stream\s*(;|$)/i.test(contentType)) {
        discardBody(response);
        throw protocolError(info, `unexpected content-type ${contentType}`);
      }
      if (response.body === null) throw protocolError(info, 'watch response has no body');
      return openWatchStream(response.body, info, ctx.signal);
    },
  };
}

/** Wraps an SSE body as a {@link WatchStream}. */
function openWatchStream(
  body: ReadableStream<Uint8Array>,
  info: CallInfo,
  signal?: AbortSignal,
): WatchStream {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const queue: WatchStreamItem[] = [];
  let finished = false;
  let closing: Promise<void> | undefined;

  const parser = createSseParser(
    (event) => {
      if (event.event !== 'bundle') return; // unknown events are ignored
      try {
        queue.push({ type: 'bundle', event: parseWatchEvent(event.data) });
      } catch (error) {
        throw protocolError(info, `malformed bundle event: ${(error as Error).message}`);
      }
    },
    {
      maxBufferedChars: RESPONSE_BYTE_LIMITS.watchLine,
      onComment: () => {
        queue.push({ type: 'heartbeat' });
      },
    },
  );

  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    void close();
  };

  const close = (): Promise<void> => {
    finished = true;
    queue.length = 0;
    signal?.removeEventListener('abort', onAbort);
    closing ??= reader.cancel().then(
      () => {},
      () => {},
    );
    return closing;
  };

  if (signal !== undefined) {
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }

  const fail = async (error: unknown): Promise<never> => {
    await close();
    if (isOversyncClientError(error)) throw error;
    if (error instanceof RangeError) throw protocolError(info, error.message);
    throw transportError(error, info, signal);
  };

  const iterator: AsyncIterator<WatchStreamItem> = {
    async next(): Promise<IteratorResult<WatchStreamItem>> {
      for (;;) {
        if (aborted) throw abortedError(info, signal?.reason);
        const item = queue.shift();
        if (item !== undefined) return { done: false, value: item };
        if (finished) return { done: true, value: undefined };
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if (aborted) throw abortedError(info, signal?.reason);
          if (finished) return { done: true, value: undefined };
          return fail(error);
        }
        if (aborted) throw abortedError(info, signal?.reason);
        if (finished) return { done: true, value: undefined };
        try {
          if (chunk.done) {
            parser.push(decoder.decode());
            parser.end();
            finished = true;
          } else {
            parser.push(decoder.decode(chunk.value, { stream: true }));
          }
        } catch (error) {
          return fail(error);
        }
      }
    },
    async return(): Promise<IteratorResult<WatchStreamItem>> {
      await close();
      return { done: true, value: undefined };
    },
  };

  return {
    [Symbol.asyncIterator]: () => iterator,
    close,
  };
}
