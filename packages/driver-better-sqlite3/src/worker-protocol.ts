/**
 * The messages between the worker-mode driver and its worker thread. Values cross with the
 * structured clone algorithm, which keeps `bigint` and `Uint8Array`; errors do not keep their
 * SQLite `code` that way, so they cross as `WireError`s.
 *
 * @module
 */

import type { SqlValue } from '@oversync/client';
import type { WireError } from './wire-error.js';

/**
 * What the worker needs to open its connection (`workerData`).
 *
 * @example
 * ```ts
 * const init: WorkerInit = { filename: 'app.db', busyTimeoutMs: 5000, readonly: false };
 * ```
 */
export interface WorkerInit {
  readonly filename: string;
  readonly busyTimeoutMs?: number;
  readonly readonly?: boolean;
  readonly synchronous?: 'normal' | 'full';
}

/**
 * One request; `id` pairs it with its {@link WorkerResponse}. The worker answers requests in
 * the order it receives them.
 *
 * @example
 * ```ts
 * const request: WorkerRequest = { id: 1, op: 'run', sql: 'DELETE FROM todos', params: [] };
 * ```
 */
export type WorkerRequest =
  | {
      readonly id: number;
      readonly op: 'run' | 'all' | 'get';
      readonly sql: string;
      readonly params?: readonly SqlValue[];
    }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  | {
      readonly id: number;
      readonly op: 'runBatch';
      readonly sql: string;
      readonly paramSets: readonly (readonly SqlValue[])[];
    }
  | { readonly id: number; readonly op: 'begin'; readonly mode: 'immediate' | 'deferred' }
  | { readonly id: number; readonly op: 'commit' | 'rollback' | 'close' };

/**
 * The answer to the request with the same `id`.
 *
 * @example
 * ```ts
 * const response: WorkerResponse = { id: 1, ok: true, value: { changes: 3 } };
 * ```
 */
export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };
