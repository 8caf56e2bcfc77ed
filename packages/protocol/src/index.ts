/**
 * `@oversync/protocol`: wire types, error codes, canonical JSON, value codecs and hashes of the
 * oversync HTTP sync protocol (generation G2), shared by server, client and tooling.
 *
 * @module
 */

export type { CanonicalSnapshotRow } from './byte-count.js';
export {
  snapshotRowByteCount,
  snapshotRowJsonFromCanonicalPayload,
  utf8ByteLength,
} from './byte-count.js';
export { canonicalJson, canonicalJsonString, jsonNumberText } from './canonical-json.js';
export type { BundleLimits, FeatureFlag, SnapshotReplacementReason } from './constants.js';
export {
  ADOPTION_SOURCE_PREFIX,
  DEFAULT_BUNDLE_LIMITS,
  FEATURE_FLAGS,
  isValidSourceId,
  PROTOCOL_VERSION,
  SNAPSHOT_REPLACEMENT_REASONS,
  SOURCE_ID_HEADER,
  WATCH_NOTIFY_CHANNEL,
} from './constants.js';
export type {
  EndpointOperationId,
  EndpointSpec,
  ExtraResponseSpec,
  ParameterSpec,
} from './endpoints.js';
export { ENDPOINTS } from './endpoints.js';
export type { ErrorBody, ErrorCode } from './errors.js';
export { ERROR_CODES, ERROR_STATUS, isErrorCode, isSyncError, SyncError } from './errors.js';
export * from './g1/index.js';
export type { BundleHashRow, CanonicalBundleHashRow, PushHashRow } from './hash.js';
export {
  bundleHash,
  bundleHashInput,
  bundleHashInputFromCanonicalPayloads,
  pushRequestHash,
  pushRequestHashInput,
  sha256Hex,
} from './hash.js';
export type {
  Bundle,
  BundleRow,
  CommittedBundleRowsResponse,
  PullResponse,
} from './messages/bundles.js';
export {
  BundleRowSchema,
  BundleSchema,
  CommittedBundleRowsResponseSchema,
  PullResponseSchema,
} from './messages/bundles.js';
export type {
  AdvertisedBundleLimits,
  CapabilitiesResponse,
  TableSpec,
} from './messages/capabilities.js';
export {
  BundleLimitsSchema,
  CapabilitiesResponseSchema,
  TableSpecSchema,
} from './messages/capabilities.js';
export {
  CanonicalUuidSchema,
  NonNegativeIntegerSchema,
  PayloadSchema,
  PositiveIntegerSchema,
  Rfc3339Schema,
  RowOpSchema,
  Sha256HexSchema,
  SourceIdSchema,
  SyncKeySchema,
  WireIntegerSchema,
} from './messages/common.js';
export type { ConnectRequest, ConnectResolution, ConnectResponse } from './messages/connect.js';
export {
  ConnectRequestSchema,
  ConnectResolutionSchema,
  ConnectResponseSchema,
} from './messages/connect.js';
export type {
  PushConflictBody,
  PushConflictDetails,
  SnapshotChunkTooSmallBody,
  SnapshotSessionLimitExceededBody,
  SourceRetiredBody,
} from './messages/error-bodies.js';
export {
  ErrorBodySchema,
  PushConflictBodySchema,
  PushConflictDetailsSchema,
  SnapshotChunkTooSmallBodySchema,
  SnapshotSessionLimitExceededBodySchema,
  SourceRetiredBodySchema,
} from './messages/error-bodies.js';
export type {
  PushChunkResponse,
  PushCommitResponse,
  PushRow,
  PushSessionAlreadyCommittedResponse,
  PushSessionChunkRequest,
  PushSessionCreateRequest,
  PushSessionCreateResponse,
  PushSessionStagingResponse,
} from './messages/push.js';
export {
  PushChunkResponseSchema,
  PushCommitResponseSchema,
  PushRowSchema,
  PushSessionAlreadyCommittedResponseSchema,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  PushSessionCreateResponseSchema,
  PushSessionStagingResponseSchema,
} from './messages/push.js';
export type {
  SnapshotChunkResponse,
  SnapshotRow,
  SnapshotSession,
  SnapshotSessionCreateRequest,
  SourceReplacement,
} from './messages/snapshot.js';
export {
  SnapshotChunkResponseSchema,
  SnapshotRowSchema,
  SnapshotSessionCreateRequestSchema,
  SnapshotSessionSchema,
  SourceReplacementSchema,
} from './messages/snapshot.js';
export type { StatusResponse } from './messages/status.js';
export { StatusResponseSchema } from './messages/status.js';
export type { WatchEvent } from './messages/watch.js';
export { WatchEventSchema } from './messages/watch.js';
export type { OpenApiDocument, OpenApiOptions } from './openapi.js';
export { buildOpenApiDocument } from './openapi.js';
export type { SseEvent, SseParser, SseParserOptions } from './sse.js';
export { createSseParser, parseWatchEvent } from './sse.js';
export type { SyncKeyMismatch, TableSpecComparison } from './table-specs.js';
export { compareTableSpecs } from './table-specs.js';
export type { WireFamily, WireValueCategory, WireValueValidation } from './value-codec.js';
export {
  base64ToBytes,
  bytesToBase64,
  canonicalFloatText,
  isCanonicalDecimalString,
  isCanonicalFloatString,
  isCanonicalInt64String,
  isCanonicalUuid,
  isStandardBase64,
  validateWireValue,
} from './value-codec.js';
