/**
 * The endpoint table: every HTTP operation of the protocol, once.
 *
 * Servers route from it, clients build requests from it and the OpenAPI document is generated
 * from it, so the three cannot drift apart.
 *
 * @module
 */

import type { GenericSchema } from 'valibot';
import type { ErrorCode } from './errors.js';
import { CommittedBundleRowsResponseSchema, PullResponseSchema } from './messages/bundles.js';
import { CapabilitiesResponseSchema } from './messages/capabilities.js';
import { ConnectRequestSchema, ConnectResponseSchema } from './messages/connect.js';
import {
  PushChunkResponseSchema,
  PushCommitResponseSchema,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  PushSessionCreateResponseSchema,
} from './messages/push.js';
import {
  SnapshotChunkResponseSchema,
  SnapshotSessionCreateRequestSchema,
  SnapshotSessionSchema,
} from './messages/snapshot.js';
import { StatusResponseSchema } from './messages/status.js';
import { WatchEventSchema } from './messages/watch.js';

/**
 * A path or query parameter. Integer parameters are base-10 decimal text on the wire.
 *
 * @example
 * ```ts
 * const p: ParameterSpec = { name: 'max_rows', type: 'integer', required: false, minimum: 1,
 *   description: 'page size' };
 * ```
 */
export interface ParameterSpec {
  readonly name: string;
  readonly type: 'integer' | 'string';
  readonly required: boolean;
  readonly minimum?: number;
  readonly description: string;
}

/**
 * A response other than the success response and the error envelope (e.g. an unhealthy status).
 *
 * @example
 * ```ts
 * const r: ExtraResponseSpec = { status: 503, description: 'unhealthy', schema: StatusResponseSchema };
 * ```
 */
export interface ExtraResponseSpec {
  readonly status: number;
  readonly description: string;
  readonly schema: GenericSchema;
}

/**
 * One HTTP operation.
 *
 * `path` uses `{name}` placeholders relative to the mount point; `request` is the JSON body
 * schema (`null` when the operation takes no body); `response` is the success body schema, or,
 * for the `text/event-stream` watch, the schema of each event's data (`null` for `204`).
 *
 * @example
 * ```ts
 * const spec: EndpointSpec = ENDPOINTS[0];
 * ```
 */
export interface EndpointSpec {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  /** Whether the caller must be authenticated and send `Oversync-Source-ID`. */
  readonly authenticated: boolean;
  readonly pathParams: readonly ParameterSpec[];
  readonly query: readonly ParameterSpec[];
  readonly request: GenericSchema | null;
  /** Whether an absent body is an error (false: absent means the empty default). */
  readonly requestRequired: boolean;
  readonly successStatus: 200 | 204;
  readonly responseContentType: 'application/json' | 'text/event-stream' | null;
  readonly response: GenericSchema | null;
  readonly extraResponses: readonly ExtraResponseSpec[];
  readonly errors: readonly ErrorCode[];
}

/** Errors any authenticated `/sync/*` operation can answer before reaching its own logic. */
const AUTHENTICATED_ERRORS = [
  'authentication_failed',
  'invalid_request',
  'service_unavailable',
] as const satisfies readonly ErrorCode[];

/** Extra errors of operations that read a JSON body. */
const BODY_ERRORS = ['payload_too_large'] as const satisfies readonly ErrorCode[];

const PUSH_ID: ParameterSpec = {
  name: 'push_id',
  type: 'string',
  required: true,
  description: 'Push session id from the create response (canonical lowercase UUID).',
};

const SNAPSHOT_ID: ParameterSpec = {
  name: 'snapshot_id',
  type: 'string',
  required: true,
  description: 'Snapshot session id from the create response.',
};

const AFTER_BUNDLE_SEQ: ParameterSpec = {
  name: 'after_bundle_seq',
  type: 'integer',
  required: false,
  minimum: 0,
  description: 'Last bundle_seq the client has applied; 0 (default) starts from the beginning.',
};

/**
 * Every operation of the G2 protocol, in the order of the wire reference.
 *
 * @example
 * ```ts
 * for (const e of ENDPOINTS) console.log(e.method, e.path, e.operationId);
 * ```
 */
export const ENDPOINTS = [
  {
    operationId: 'getCapabilities',
    method: 'GET',
    path: '/sync/capabilities',
    summary: 'Protocol version, registered tables, feature flags and limits.',
    authenticated: true,
    pathParams: [],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: CapabilitiesResponseSchema,
    extraResponses: [],
    errors: [...AUTHENTICATED_ERRORS],
  },
  {
    operationId: 'connect',
    method: 'POST',
    path: '/sync/connect',
    summary: 'Resolve the scope lifecycle for this source (initialize, adopt remote, retry).',
    authenticated: true,
    pathParams: [],
    query: [],
    request: ConnectRequestSchema,
    requestRequired: true,
    successStatus: 200,
    responseContentType: 'application/json',
    response: ConnectResponseSchema,
    extraResponses: [],
    errors: [...AUTHENTICATED_ERRORS, ...BODY_ERRORS, 'connect_failed'],
  },
  {
    operationId: 'createPushSession',
    method: 'POST',
    path: '/sync/push-sessions',
    summary: 'Open a push session for (source, source_bundle_id) or report it already committed.',
    authenticated: true,
    pathParams: [],
    query: [],
    request: PushSessionCreateRequestSchema,
    requestRequired: true,
    successStatus: 200,
    responseContentType: 'application/json',
    response: PushSessionCreateResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      ...BODY_ERRORS,
      'push_session_invalid',
      'scope_uninitialized',
      'scope_initializing',
      'initialization_stale',
      'initialization_expired',
      'history_pruned',
      'source_sequence_out_of_order',
      'source_retired',
      'push_session_create_failed',
    ],
  },
  {
    operationId: 'uploadPushSessionChunk',
    method: 'POST',
    path: '/sync/push-sessions/{push_id}/chunks',
    summary: 'Stage the next contiguous chunk of rows.',
    authenticated: true,
    pathParams: [PUSH_ID],
    query: [],
    request: PushSessionChunkRequestSchema,
    requestRequired: true,
    successStatus: 200,
    responseContentType: 'application/json',
    response: PushChunkResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      ...BODY_ERRORS,
      'push_chunk_invalid',
      'push_chunk_out_of_order',
      'push_session_not_found',
      'push_session_forbidden',
      'push_session_expired',
      'initialization_stale',
      'initialization_expired',
      'push_chunk_failed',
    ],
  },
  {
    operationId: 'commitPushSession',
    method: 'POST',
    path: '/sync/push-sessions/{push_id}/commit',
    summary: 'Apply all staged rows atomically and commit them as one bundle (no body).',
    authenticated: true,
    pathParams: [PUSH_ID],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: PushCommitResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'push_commit_invalid',
      'push_conflict',
      'scope_uninitialized',
      'push_session_not_found',
      'push_session_forbidden',
      'push_session_expired',
      'initialization_stale',
      'initialization_expired',
      'source_sequence_changed',
      'source_retired',
      'push_session_commit_failed',
    ],
  },
  {
    operationId: 'deletePushSession',
    method: 'DELETE',
    path: '/sync/push-sessions/{push_id}',
    summary: 'Abandon an uncommitted push session (best effort).',
    authenticated: true,
    pathParams: [PUSH_ID],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 204,
    responseContentType: null,
    response: null,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'push_session_not_found',
      'push_session_forbidden',
      'push_session_expired',
      'push_session_delete_failed',
    ],
  },
  {
    operationId: 'getCommittedBundleRows',
    method: 'GET',
    path: '/sync/committed-bundles/{bundle_seq}/rows',
    summary: 'Page through the authoritative rows of a committed bundle.',
    authenticated: true,
    pathParams: [
      {
        name: 'bundle_seq',
        type: 'integer',
        required: true,
        minimum: 1,
        description: 'Committed bundle sequence.',
      },
    ],
    query: [
      {
        name: 'after_row_ordinal',
        type: 'integer',
        required: false,
        minimum: 0,
        description: 'Return rows after this 0-based ordinal; absent starts at the first row.',
      },
      {
        name: 'max_rows',
        type: 'integer',
        required: false,
        minimum: 1,
        description: 'Page size; capped at max_rows_per_committed_bundle_chunk.',
      },
    ],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: CommittedBundleRowsResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'committed_bundle_chunk_invalid',
      'history_pruned',
      'committed_bundle_not_found',
      'committed_bundle_rows_failed',
    ],
  },
  {
    operationId: 'pull',
    method: 'GET',
    path: '/sync/pull',
    summary: 'Complete bundles after a checkpoint, up to a stable ceiling.',
    authenticated: true,
    pathParams: [],
    query: [
      AFTER_BUNDLE_SEQ,
      {
        name: 'max_bundles',
        type: 'integer',
        required: false,
        minimum: 1,
        description: 'Bundles per page, 1..max_bundles_per_pull (default 1000).',
      },
      {
        name: 'target_bundle_seq',
        type: 'integer',
        required: false,
        minimum: 0,
        description: 'Ceiling frozen by the first page of this pull run; 0/absent = current head.',
      },
    ],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: PullResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'history_pruned',
      'checkpoint_ahead',
      'scope_uninitialized',
      'scope_initializing',
      'pull_failed',
    ],
  },
  {
    operationId: 'watch',
    method: 'GET',
    path: '/sync/watch',
    summary: 'Server-sent `event: bundle` wake-ups; data is a WatchEvent. Heartbeats are comments.',
    authenticated: true,
    pathParams: [],
    query: [AFTER_BUNDLE_SEQ],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'text/event-stream',
    response: WatchEventSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'bundle_change_watch_forbidden',
      'bundle_change_watch_disabled',
      'scope_uninitialized',
      'scope_initializing',
      'bundle_change_watch_failed',
    ],
  },
  {
    operationId: 'createSnapshotSession',
    method: 'POST',
    path: '/sync/snapshot-sessions',
    summary: 'Freeze the current rows for a rebuild, optionally rotating the source.',
    authenticated: true,
    pathParams: [],
    query: [],
    request: SnapshotSessionCreateRequestSchema,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: SnapshotSessionSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      ...BODY_ERRORS,
      'snapshot_session_invalid',
      'source_replacement_invalid',
      'source_retired',
      'scope_uninitialized',
      'scope_initializing',
      'snapshot_session_limit_exceeded',
      'snapshot_build_capacity',
      'snapshot_session_create_failed',
    ],
  },
  {
    operationId: 'getSnapshotChunk',
    method: 'GET',
    path: '/sync/snapshot-sessions/{snapshot_id}',
    summary: 'Read the next row- and byte-bounded chunk of a snapshot.',
    authenticated: true,
    pathParams: [SNAPSHOT_ID],
    query: [
      {
        name: 'after_row_ordinal',
        type: 'integer',
        required: false,
        minimum: 0,
        description: 'Return rows after this 1-based ordinal; 0 (default) starts at the first row.',
      },
      {
        name: 'max_rows',
        type: 'integer',
        required: false,
        minimum: 1,
        description: 'Row bound; capped at max_rows_per_snapshot_chunk.',
      },
      {
        name: 'max_bytes',
        type: 'integer',
        required: false,
        minimum: 1,
        description:
          'Byte bound on the sum of row byte counts; capped at max_bytes_per_snapshot_chunk.',
      },
    ],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: SnapshotChunkResponseSchema,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'snapshot_chunk_invalid',
      'snapshot_chunk_too_small',
      'snapshot_session_not_found',
      'snapshot_session_forbidden',
      'snapshot_session_expired',
      'snapshot_chunk_capacity',
      'snapshot_chunk_failed',
    ],
  },
  {
    operationId: 'deleteSnapshotSession',
    method: 'DELETE',
    path: '/sync/snapshot-sessions/{snapshot_id}',
    summary: 'Release a snapshot session (best effort).',
    authenticated: true,
    pathParams: [SNAPSHOT_ID],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 204,
    responseContentType: null,
    response: null,
    extraResponses: [],
    errors: [
      ...AUTHENTICATED_ERRORS,
      'snapshot_session_not_found',
      'snapshot_session_forbidden',
      'snapshot_session_delete_failed',
    ],
  },
  {
    operationId: 'getHealth',
    method: 'GET',
    path: '/syncx/health',
    summary: 'Liveness: 200 when healthy, 503 with the same body when unhealthy. No auth.',
    authenticated: false,
    pathParams: [],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: StatusResponseSchema,
    extraResponses: [{ status: 503, description: 'Unhealthy.', schema: StatusResponseSchema }],
    errors: ['health_failed'],
  },
  {
    operationId: 'getStatus',
    method: 'GET',
    path: '/syncx/status',
    summary: 'Service status and retention counters. No auth.',
    authenticated: false,
    pathParams: [],
    query: [],
    request: null,
    requestRequired: false,
    successStatus: 200,
    responseContentType: 'application/json',
    response: StatusResponseSchema,
    extraResponses: [],
    errors: ['status_failed'],
  },
] as const satisfies readonly EndpointSpec[];

/**
 * The `operationId` of any endpoint.
 *
 * @example
 * ```ts
 * const op: EndpointOperationId = 'pull';
 * ```
 */
export type EndpointOperationId = (typeof ENDPOINTS)[number]['operationId'];
