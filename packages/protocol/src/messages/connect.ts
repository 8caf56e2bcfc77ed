/**
 * `POST /sync/connect` request and response.
 *
 * @module
 */

import * as v from 'valibot';
import { CanonicalUuidSchema, PositiveIntegerSchema, Rfc3339Schema } from './common.js';

/**
 * Connect request; `{}` is valid and means "no local pending rows".
 *
 * @example
 * ```ts
 * const { has_local_pending_rows = false } = v.parse(ConnectRequestSchema, body);
 * ```
 */
export const ConnectRequestSchema = v.object({
  has_local_pending_rows: v.optional(v.boolean()),
});

/**
 * Decoded connect request.
 *
 * @example
 * ```ts
 * const request: ConnectRequest = { has_local_pending_rows: true };
 * ```
 */
export type ConnectRequest = v.InferOutput<typeof ConnectRequestSchema>;

/**
 * The four lifecycle outcomes of connect.
 *
 * @example
 * ```ts
 * v.parse(ConnectResolutionSchema, 'initialize_local');
 * ```
 */
export const ConnectResolutionSchema = v.picklist([
  'remote_authoritative',
  'initialize_local',
  'initialize_empty',
  'retry_later',
]);

/**
 * A connect resolution.
 *
 * @example
 * ```ts
 * const resolution: ConnectResolution = 'retry_later';
 * ```
 */
export type ConnectResolution = v.InferOutput<typeof ConnectResolutionSchema>;

/**
 * Connect response. `initialization_id` only accompanies `initialize_local`; `retry_later`
 * carries `retry_after_seconds`; both carry `lease_expires_at`.
 *
 * @example
 * ```ts
 * const res = v.parse(ConnectResponseSchema, {
 *   resolution: 'retry_later', retry_after_seconds: 7, lease_expires_at: '2099-01-01T00:00:00Z',
 * });
 * ```
 */
export const ConnectResponseSchema = v.object({
  resolution: ConnectResolutionSchema,
  initialization_id: v.optional(CanonicalUuidSchema),
  lease_expires_at: v.optional(Rfc3339Schema),
  retry_after_seconds: v.optional(PositiveIntegerSchema),
});

/**
 * Decoded connect response.
 *
 * @example
 * ```ts
 * const res: ConnectResponse = { resolution: 'initialize_empty' };
 * ```
 */
export type ConnectResponse = v.InferOutput<typeof ConnectResponseSchema>;
