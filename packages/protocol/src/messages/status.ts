/**
 * `GET /syncx/health` and `GET /syncx/status` body.
 *
 * @module
 */

import * as v from 'valibot';
import { NonNegativeIntegerSchema, WireIntegerSchema } from './common.js';

/**
 * Service health and retention counters. All members are always present.
 *
 * @example
 * ```ts
 * const status = v.parse(StatusResponseSchema, await (await fetch('/syncx/status')).json());
 * ```
 */
export const StatusResponseSchema = v.object({
  status: v.picklist(['healthy', 'unhealthy']),
  version: v.string(),
  app_name: v.string(),
  lifecycle: v.picklist(['running', 'shutting_down', 'closed']),
  accepting_operations: v.boolean(),
  inflight_operations: NonNegativeIntegerSchema,
  registered_tables: v.array(v.string()),
  features: v.record(v.string(), v.boolean()),
  user_state_retention_floor_ahead_count: NonNegativeIntegerSchema,
  latest_bundle_seq_max: NonNegativeIntegerSchema,
  retained_bundle_floor_min: NonNegativeIntegerSchema,
  retained_bundle_floor_max: NonNegativeIntegerSchema,
  // Window = latest - floor, which is negative exactly when the invariant the status reports on
  // is violated; the status must still be expressible then.
  retained_bundle_window_min: WireIntegerSchema,
  retained_bundle_window_max: WireIntegerSchema,
  history_pruned_error_count: NonNegativeIntegerSchema,
  accepted_push_replay_count: NonNegativeIntegerSchema,
  rejected_registered_write_count: NonNegativeIntegerSchema,
  committed_bundle_count: NonNegativeIntegerSchema,
  committed_bundle_bytes: NonNegativeIntegerSchema,
});

/**
 * Decoded status body.
 *
 * @example
 * ```ts
 * const healthy = (s: StatusResponse) => s.status === 'healthy';
 * ```
 */
export type StatusResponse = v.InferOutput<typeof StatusResponseSchema>;
