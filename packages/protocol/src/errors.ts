/**
 * Error codes of the oversync protocol and their HTTP statuses.
 *
 * Every error a server emits and every error a client switches on is named here, once.
 * The table is the single source of truth for status mapping (the tRPC habit): a code
 * cannot be added without choosing its status.
 *
 * @module
 */

/**
 * HTTP status and a one-line meaning for every wire error code.
 *
 * @example
 * ```ts
 * ERROR_CODES.push_conflict.status; // 409
 * ```
 */
export const ERROR_CODES = {
  invalid_request: { status: 400, meaning: 'malformed request (header, query or body)' },
  authentication_failed: { status: 401, meaning: 'no authenticated user' },
  method_not_allowed: { status: 405, meaning: 'wrong HTTP method for a known path' },
  not_found: { status: 404, meaning: 'unknown path' },
  payload_too_large: { status: 413, meaning: 'request body exceeds the configured limit' },
  service_unavailable: { status: 503, meaning: 'service is shutting down' },
  connect_invalid: { status: 400, meaning: 'invalid connect request' },
  connect_failed: { status: 500, meaning: 'internal connect failure' },
  push_session_invalid: { status: 400, meaning: 'invalid push session create request' },
  scope_uninitialized: { status: 409, meaning: 'scope has not been initialized by connect' },
  scope_initializing: { status: 409, meaning: 'another source holds the initialization lease' },
  initialization_stale: {
    status: 409,
    meaning: 'initialization lease is no longer held by this source',
  },
  initialization_expired: { status: 410, meaning: 'initialization lease expired' },
  history_pruned: { status: 409, meaning: 'requested history is below the retained floor' },
  checkpoint_ahead: { status: 409, meaning: 'checkpoint is ahead of the server history' },
  source_sequence_out_of_order: { status: 409, meaning: 'source_bundle_id skips ahead' },
  source_sequence_changed: {
    status: 409,
    meaning: 'source sequence changed between create and commit',
  },
  source_retired: { status: 409, meaning: 'source was retired by a rotated rebuild' },
  push_session_create_failed: { status: 500, meaning: 'internal push session create failure' },
  push_chunk_invalid: { status: 400, meaning: 'invalid push chunk' },
  push_chunk_out_of_order: {
    status: 409,
    meaning: 'chunk start_row_ordinal is not the next expected',
  },
  push_session_not_found: { status: 404, meaning: 'unknown push session' },
  push_session_forbidden: { status: 403, meaning: 'push session belongs to another user' },
  push_session_expired: { status: 410, meaning: 'push session expired' },
  push_chunk_failed: { status: 500, meaning: 'internal push chunk failure' },
  push_commit_invalid: { status: 400, meaning: 'push session cannot be committed as staged' },
  push_conflict: { status: 409, meaning: 'optimistic concurrency conflict' },
  push_session_commit_failed: { status: 500, meaning: 'internal push commit failure' },
  push_session_delete_failed: { status: 500, meaning: 'internal push session delete failure' },
  committed_bundle_chunk_invalid: { status: 400, meaning: 'invalid committed bundle rows request' },
  committed_bundle_not_found: { status: 404, meaning: 'unknown committed bundle' },
  committed_bundle_rows_failed: { status: 500, meaning: 'internal committed bundle rows failure' },
  pull_failed: { status: 500, meaning: 'internal pull failure' },
  bundle_change_watch_forbidden: { status: 403, meaning: 'watch is forbidden for this actor' },
  bundle_change_watch_disabled: { status: 503, meaning: 'watch is disabled' },
  bundle_change_watch_failed: { status: 500, meaning: 'internal watch failure' },
  snapshot_session_invalid: { status: 400, meaning: 'invalid snapshot session create request' },
  source_replacement_invalid: { status: 409, meaning: 'source replacement is not acceptable' },
  snapshot_session_create_failed: { status: 500, meaning: 'internal snapshot create failure' },
  snapshot_session_limit_exceeded: { status: 409, meaning: 'snapshot exceeds a session limit' },
  snapshot_build_capacity: { status: 429, meaning: 'too many concurrent snapshot builds' },
  snapshot_chunk_capacity: { status: 429, meaning: 'too many concurrent snapshot chunk requests' },
  snapshot_chunk_invalid: { status: 400, meaning: 'invalid snapshot chunk request' },
  snapshot_chunk_too_small: { status: 400, meaning: 'max_bytes is smaller than the next row' },
  snapshot_session_not_found: { status: 404, meaning: 'unknown snapshot session' },
  snapshot_session_forbidden: { status: 403, meaning: 'snapshot session belongs to another user' },
  snapshot_session_expired: { status: 410, meaning: 'snapshot session expired' },
  snapshot_chunk_failed: { status: 500, meaning: 'internal snapshot chunk failure' },
  snapshot_session_delete_failed: { status: 500, meaning: 'internal snapshot delete failure' },
  status_failed: { status: 500, meaning: 'internal status failure' },
  health_failed: { status: 500, meaning: 'internal health failure' },
  internal_error: { status: 500, meaning: 'unexpected internal failure' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/**
 * Every error code that can appear in the `error` member of an error body.
 *
 * @example
 * ```ts
 * const code: ErrorCode = 'history_pruned';
 * ```
 */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * HTTP status for each error code.
 *
 * @example
 * ```ts
 * ERROR_STATUS.snapshot_chunk_capacity; // 429
 * ```
 */
export const ERROR_STATUS: { readonly [K in ErrorCode]: (typeof ERROR_CODES)[K]['status'] } =
  Object.fromEntries(Object.entries(ERROR_CODES).map(([k, v]) => [k, v.status])) as never;

/**
 * Body shape of every protocol error: `{error, message, ...extra}`.
 *
 * @example
 * ```ts
 * const body: ErrorBody = { error: 'checkpoint_ahead', message: 'checkpoint 99 is ahead of 7' };
 * ```
 */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  [extra: string]: unknown;
}

/**
 * True when `code` is a known protocol error code.
 *
 * @example
 * ```ts
 * isErrorCode('push_conflict'); // true
 * isErrorCode('teapot'); // false
 * ```
 */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * A protocol error: a code, its HTTP status, a message and optional extra body members.
 *
 * @example
 * ```ts
 * throw new SyncError('push_chunk_invalid', 'rows must not be empty');
 * ```
 */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra members merged into the error body (e.g. `conflict`, `source_id`). */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Extra HTTP headers for the response (e.g. `Retry-After`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      extra?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  /** The wire body: `{error, message, ...extra}`. */
  toWire(): ErrorBody {
    return { error: this.code, message: this.message, ...this.extra };
  }
}

/**
 * True for a {@link SyncError}, also across duplicated package copies.
 *
 * @example
 * ```ts
 * try { await handle(); } catch (e) { if (isSyncError(e)) return json(e.toWire(), e.status); throw e; }
 * ```
 */
export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError || (e as { name?: unknown } | null)?.name === 'SyncError';
}
