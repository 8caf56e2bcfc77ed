/**
 * OpenAPI 3.1 document generated from {@link ENDPOINTS} and the valibot message schemas.
 *
 * Generated, never hand-written, so the published contract is the one the code decodes with.
 *
 * @module
 */

import { toJsonSchemaDefs } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import { PROTOCOL_VERSION, SOURCE_ID_HEADER } from './constants.js';
import { ENDPOINTS, type EndpointSpec, type ParameterSpec } from './endpoints.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import {
  BundleRowSchema,
  BundleSchema,
  CommittedBundleRowsResponseSchema,
  PullResponseSchema,
} from './messages/bundles.js';
import {
  BundleLimitsSchema,
  CapabilitiesResponseSchema,
  TableSpecSchema,
} from './messages/capabilities.js';
import { ConnectRequestSchema, ConnectResponseSchema } from './messages/connect.js';
import {
  ErrorBodySchema,
  PushConflictBodySchema,
  PushConflictDetailsSchema,
  SnapshotChunkTooSmallBodySchema,
  SnapshotSessionLimitExceededBodySchema,
  SourceRetiredBodySchema,
} from './messages/error-bodies.js';
import {
  PushChunkResponseSchema,
  PushCommitResponseSchema,
  PushRowSchema,
  PushSessionAlreadyCommittedResponseSchema,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  PushSessionCreateResponseSchema,
  PushSessionStagingResponseSchema,
} from './messages/push.js';
import {
  SnapshotChunkResponseSchema,
  SnapshotRowSchema,
  SnapshotSessionCreateRequestSchema,
  SnapshotSessionSchema,
  SourceReplacementSchema,
} from './messages/snapshot.js';
import { StatusResponseSchema } from './messages/status.js';
import { WatchEventSchema } from './messages/watch.js';

/**
 * Options of {@link buildOpenApiDocument}.
 *
 * @example
 * ```ts
 * const options: OpenApiOptions = { serverUrl: 'https://sync.example.com/api/v1', title: 'Sync' };
 * ```
 */
export interface OpenApiOptions {
  /** Base URL the `/sync/*` paths are mounted under; omitted from the document when absent. */
  serverUrl?: string;
  /** `info.title`; defaults to `oversync HTTP sync protocol`. */
  title?: string;
}

/**
 * The generated document: plain JSON data, ready for `JSON.stringify`.
 *
 * @example
 * ```ts
 * const doc: OpenApiDocument = buildOpenApiDocument();
 * Object.keys(doc.paths); // ['/sync/capabilities', ...]
 * ```
 */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, unknown>;
    parameters: Record<string, unknown>;
  };
}

/**
 * Named components. Nested schemas listed here become `$ref`s wherever they are reused, so the
 * document reads like the wire reference instead of repeating every row shape inline.
 */
const COMPONENT_SCHEMAS = {
  CapabilitiesResponse: CapabilitiesResponseSchema,
  TableSpec: TableSpecSchema,
  BundleLimits: BundleLimitsSchema,
  ConnectRequest: ConnectRequestSchema,
  ConnectResponse: ConnectResponseSchema,
  PushSessionCreateRequest: PushSessionCreateRequestSchema,
  PushRow: PushRowSchema,
  PushSessionChunkRequest: PushSessionChunkRequestSchema,
  PushSessionStagingResponse: PushSessionStagingResponseSchema,
  PushSessionAlreadyCommittedResponse: PushSessionAlreadyCommittedResponseSchema,
  PushSessionCreateResponse: PushSessionCreateResponseSchema,
  PushChunkResponse: PushChunkResponseSchema,
  PushCommitResponse: PushCommitResponseSchema,
  BundleRow: BundleRowSchema,
  CommittedBundleRowsResponse: CommittedBundleRowsResponseSchema,
  Bundle: BundleSchema,
  PullResponse: PullResponseSchema,
  SourceReplacement: SourceReplacementSchema,
  SnapshotSessionCreateRequest: SnapshotSessionCreateRequestSchema,
  SnapshotSession: SnapshotSessionSchema,
  SnapshotRow: SnapshotRowSchema,
  SnapshotChunkResponse: SnapshotChunkResponseSchema,
  WatchEvent: WatchEventSchema,
  StatusResponse: StatusResponseSchema,
  ErrorBody: ErrorBodySchema,
  PushConflictDetails: PushConflictDetailsSchema,
  PushConflictBody: PushConflictBodySchema,
  SourceRetiredBody: SourceRetiredBodySchema,
  SnapshotChunkTooSmallBody: SnapshotChunkTooSmallBodySchema,
  SnapshotSessionLimitExceededBody: SnapshotSessionLimitExceededBodySchema,
} satisfies Record<string, GenericSchema>;

/** Error codes whose body carries extra members, and the component describing that body. */
const ERROR_BODY_COMPONENTS: Partial<Record<ErrorCode, keyof typeof COMPONENT_SCHEMAS>> = {
  push_conflict: 'PushConflictBody',
  source_retired: 'SourceRetiredBody',
  snapshot_chunk_too_small: 'SnapshotChunkTooSmallBody',
  snapshot_session_limit_exceeded: 'SnapshotSessionLimitExceededBody',
};

const COMPONENT_REF = '#/components/schemas/';

function ref(name: string): { $ref: string } {
  return { $ref: `${COMPONENT_REF}${name}` };
}

function schemaName(schema: GenericSchema, names: Map<GenericSchema, string>): string {
  const name = names.get(schema);
  if (name === undefined) {
    // Every schema an endpoint uses must be a named component; failing loudly keeps the registry
    // complete instead of silently inlining anonymous copies.
    throw new Error('endpoint schema is not registered in COMPONENT_SCHEMAS');
  }
  return name;
}

function parameter(spec: ParameterSpec, location: 'path' | 'query'): Record<string, unknown> {
  const schema: Record<string, unknown> = { type: spec.type };
  if (spec.minimum !== undefined) schema.minimum = spec.minimum;
  return {
    name: spec.name,
    in: location,
    required: location === 'path' ? true : spec.required,
    description: spec.description,
    schema,
  };
}

function errorResponses(errors: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errors) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const specific: string[] = [];
    for (const code of codes) {
      const name = ERROR_BODY_COMPONENTS[code];
      if (name !== undefined) specific.push(name);
    }
    const schema =
      specific.length === 0 ? ref('ErrorBody') : { anyOf: [...specific, 'ErrorBody'].map(ref) };
    const response: Record<string, unknown> = {
      description: codes.map((code) => `\`${code}\`: ${ERROR_CODES[code].meaning}`).join('; '),
      content: { 'application/json': { schema } },
      'x-error-codes': codes,
    };
    if (status === 429) {
      response.headers = {
        'Retry-After': {
          description: 'Positive whole seconds to wait before retrying.',
          schema: { type: 'integer', minimum: 1 },
        },
      };
    }
    responses[String(status)] = response;
  }
  return responses;
}

function operation(
  endpoint: EndpointSpec,
  names: Map<GenericSchema, string>,
): Record<string, unknown> {
  const parameters: unknown[] = [
    ...endpoint.pathParams.map((p) => parameter(p, 'path')),
    ...endpoint.query.map((p) => parameter(p, 'query')),
  ];
  if (endpoint.authenticated) parameters.push({ $ref: '#/components/parameters/SourceId' });

  const responses: Record<string, unknown> = {};
  if (endpoint.response === null) {
    responses[String(endpoint.successStatus)] = { description: 'No content.' };
  } else if (endpoint.responseContentType === 'text/event-stream') {
    const eventName = schemaName(endpoint.response, names);
    responses[String(endpoint.successStatus)] = {
      description: `Event stream: \`event: bundle\` frames whose data is a ${eventName}; \`: heartbeat\` comments.`,
      content: {
        'text/event-stream': { schema: { type: 'string' }, 'x-event-data': ref(eventName) },
      },
    };
  } else {
    responses[String(endpoint.successStatus)] = {
      description: 'Success.',
      content: { 'application/json': { schema: ref(schemaName(endpoint.response, names)) } },
    };
  }
  for (const extra of endpoint.extraResponses) {
    responses[String(extra.status)] = {
      description: extra.description,
      content: { 'application/json': { schema: ref(schemaName(extra.schema, names)) } },
    };
  }
  Object.assign(responses, errorResponses(endpoint.errors));

  const op: Record<string, unknown> = {
    operationId: endpoint.operationId,
    summary: endpoint.summary,
    security: endpoint.authenticated ? [{ bearerAuth: [] }] : [],
    parameters,
    responses,
  };
  if (endpoint.request !== null) {
    op.requestBody = {
      required: endpoint.requestRequired,
      content: { 'application/json': { schema: ref(schemaName(endpoint.request, names)) } },
    };
  }
  return op;
}

/**
 * Builds the OpenAPI 3.1 document of the protocol: one path item per endpoint path, every
 * message schema under `components.schemas` (JSON Schema 2020-12), error responses grouped by
 * HTTP status with their codes listed in `x-error-codes`.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument({ serverUrl: 'https://sync.example.com' });
 * await writeFile('openapi.json', JSON.stringify(doc, null, 2));
 * ```
 */
export function buildOpenApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const names = new Map<GenericSchema, string>(
    Object.entries(COMPONENT_SCHEMAS).map(([name, schema]) => [schema, name]),
  );
  const schemas = toJsonSchemaDefs(COMPONENT_SCHEMAS, {
    target: 'draft-2020-12',
    overrideRef: ({ referenceId }) => `${COMPONENT_REF}${referenceId}`,
  });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of ENDPOINTS as readonly EndpointSpec[]) {
    const item = paths[endpoint.path] ?? {};
    item[endpoint.method.toLowerCase()] = operation(endpoint, names);
    paths[endpoint.path] = item;
  }

  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'oversync HTTP sync protocol',
      version: PROTOCOL_VERSION,
      description:
        'SQLite clients ⇄ PostgreSQL server sync protocol (generation G2: canonical numeric ' +
        `strings, RFC 8785 hashes). Every authenticated call carries \`${SOURCE_ID_HEADER}\`.`,
    },
    paths,
    components: {
      schemas: schemas as Record<string, unknown>,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      parameters: {
        SourceId: {
          name: SOURCE_ID_HEADER,
          in: 'header',
          required: true,
          description: 'Writer stream id: 1..255 visible ASCII characters.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
      },
    },
  };
  if (options.serverUrl !== undefined) document.servers = [{ url: options.serverUrl }];
  return document;
}
