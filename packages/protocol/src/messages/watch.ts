/**
 * `GET /sync/watch` event data.
 *
 * @module
 */

import * as v from 'valibot';
import { PositiveIntegerSchema, SourceIdSchema } from './common.js';

/**
 * Data of an `event: bundle` frame: a wake-up hint that bundles up to `bundle_seq` exist.
 * Unknown members are ignored; the source members are absent for the initial catch-up event.
 *
 * @example
 * ```ts
 * v.parse(WatchEventSchema, { bundle_seq: 124, source_id: 'device-a', source_bundle_id: 7 });
 * ```
 */
export const WatchEventSchema = v.object({
  bundle_seq: PositiveIntegerSchema,
  source_id: v.optional(SourceIdSchema),
  source_bundle_id: v.optional(PositiveIntegerSchema),
});

/**
 * Decoded watch event.
 *
 * @example
 * ```ts
 * const event: WatchEvent = { bundle_seq: 3 };
 * ```
 */
export type WatchEvent = v.InferOutput<typeof WatchEventSchema>;
