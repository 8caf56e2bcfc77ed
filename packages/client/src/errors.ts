/**
 * Typed errors of the client. Every error the client throws is an {@link OversyncClientError}
 * with a stable `code` (switch on it) and a coarse `category` (retry policy, UI message).
 * Normal branches — retry later, blocked detach, nothing to do — are result values, not errors.
 *
 * @module
 */

/**
 * Stable error codes of the client, with their category.
 *
 * @example
 * ```ts
 * const category = CLIENT_ERROR_CODES.push_conflict; // 'conflict'
 * ```
 */
export const CLIENT_ERROR_CODES = {
  configuration: 'configuration',
  closed: 'state',
  open_required: 'state',
  attach_required: 'state',
  sync_operation_in_progress: 'state',
  binding_conflict: 'state',
  local_state_conflict: 'state',
  remote_replace_pending: 'state',
  sync_transition_pending: 'state',
  rebuild_required: 'state',
  pending_push_replay: 'state',
  dirty_state_rejected: 'state',
  source_recovery_required: 'state',
  source_replacement_diverged: 'state',
  source_replacement_invalid: 'protocol',
  invalid_source_recovery_reason: 'state',
  source_sequence_mismatch: 'protocol',
  initialization_lease_invalid: 'state',
  checkpoint_recovery_blocked: 'state',
  snapshot_final_apply_gate: 'state',
  connect_lifecycle_unsupported: 'protocol',
  protocol_version_mismatch: 'protocol',
  table_contract_mismatch: 'protocol',
  protocol_error: 'protocol',
  push_conflict: 'conflict',
  invalid_conflict_resolution: 'conflict',
  push_conflict_retry_exhausted: 'conflict',
  history_pruned: 'protocol',
  checkpoint_ahead: 'protocol',
  committed_replay_pruned: 'protocol',
  snapshot_capacity_retry_exhausted: 'network',
  snapshot_session_limit_exceeded: 'protocol',
  snapshot_chunk_too_small: 'protocol',
  http_error: 'network',
  auth_failed: 'auth',
  network_error: 'network',
  aborted: 'state',
} as const;

/**
 * A client error code.
 *
 * @example
 * ```ts
 * const code: ClientErrorCode = 'rebuild_required';
 * ```
 */
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;
/**
 * Coarse category: `auth` (401/403), `network` (transport, 5xx, 429), `conflict`, `protocol`, `state`, `configuration`.
 *
 * @example
 * ```ts
 * if (isOversyncClientError(e) && e.category === 'network') scheduleRetry();
 * ```
 */
export type ClientErrorCategory = (typeof CLIENT_ERROR_CODES)[ClientErrorCode];

/**
 * Extra facts attached to an error (HTTP status, server error code, counts, reasons …).
 *
 * @example
 * ```ts
 * if (isOversyncClientError(e, 'http_error')) console.log(e.details.status, e.details.serverError);
 * ```
 */
export interface ClientErrorDetails {
  readonly status?: number;
  readonly serverError?: string;
  readonly body?: unknown;
  readonly method?: string;
  readonly path?: string;
  readonly reason?: string;
  readonly retryAfterSeconds?: number;
  readonly [key: string]: unknown;
}

/**
 * The one error class of the client.
 *
 * @example
 * ```ts
 * try { await client.pushPending(); }
 * catch (e) {
 *   if (isOversyncClientError(e) && e.code === 'source_recovery_required') await client.rebuild();
 * }
 * ```
 */
export class OversyncClientError extends Error {
  override readonly name = 'OversyncClientError';
  readonly code: ClientErrorCode;
  readonly category: ClientErrorCategory;
  readonly details: ClientErrorDetails;

  constructor(
    code: ClientErrorCode,
    message: string,
    details: ClientErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
    const status = details.status;
    this.category =
      code === 'http_error' && (status === 401 || status === 403)
        ? 'auth'
        : CLIENT_ERROR_CODES[code];
  }
}

/**
 * Narrows `value` to an {@link OversyncClientError}, optionally of one code.
 *
 * @example
 * ```ts
 * if (isOversyncClientError(err, 'rebuild_required')) await client.rebuild();
 * ```
 */
export function isOversyncClientError(
  value: unknown,
  code?: ClientErrorCode,
): value is OversyncClientError {
  return value instanceof OversyncClientError && (code === undefined || value.code === code);
}

/**
 * Shorthand constructor used across the engine.
 *
 * @example
 * ```ts
 * throw clientError('configuration', 'attach needs a non-empty user id');
 * ```
 */
export function clientError(
  code: ClientErrorCode,
  message: string,
  details?: ClientErrorDetails,
  cause?: unknown,
): OversyncClientError {
  return new OversyncClientError(
    code,
    message,
    details,
    cause === undefined ? undefined : { cause },
  );
}
