/**
 * Semantic validation of G2 response bodies: ordering, ceilings, counts, echoes and row validity.
 *
 * The validators accept the raw decoded JSON (`unknown`) as well as an already typed response,
 * check the protocol's semantic rules first, with messages that contain the fragments pinned by
 * the shared `pull-snapshot/basic.json` contract, then decode the shape with the protocol schema
 * and return the typed value. Every failure is an `OversyncClientError` with code
 * `protocol_error`, except a `canonical_request_hash` echo mismatch, which is
 * `source_sequence_mismatch` (the server holds a different upload under our source sequence).
 *
 * They are pure: the same input always gives the same result, and nothing is read or written.
 *
 * @module
 */

import {
  type BundleRow,
  bundleHash,
  type CommittedBundleRowsResponse,
  CommittedBundleRowsResponseSchema,
  isValidSourceId,
  type PullResponse,
  PullResponseSchema,
  type SnapshotChunkResponse,
  SnapshotChunkResponseSchema,
  type SnapshotSession,
  SnapshotSessionSchema,
} from '@oversync/protocol';
import * as v from 'valibot';
import { type ClientErrorDetails, clientError } from '../errors.js';

/** The server-side scope column; it must never appear in a client-visible key or payload. */
const HIDDEN_SCOPE_COLUMN = '_sync_scope_id';
const ROW_OPS: ReadonlySet<unknown> = new Set(['INSERT', 'UPDATE', 'DELETE']);
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SNAPSHOT_CHUNK_MEMBERS: ReadonlySet<string> = new Set([
  'snapshot_id',
  'snapshot_bundle_seq',
  'rows',
  'next_row_ordinal',
  'has_more',
  'byte_count',
]);
const SNAPSHOT_ROW_MEMBERS: ReadonlySet<string> = new Set([
  'schema',
  'table',
  'key',
  'row_version',
  'payload',
]);

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(message: string, details: ClientErrorDetails = {}): never {
  throw clientError('protocol_error', message, details);
}

/** Short JSON rendering of an offending value for messages. */
function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Requires a safe integer ≥ `min` (0: "non-negative", 1: "positive"). */
function requireInteger(value: unknown, label: string, min: 0 | 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    fail(`${label} must be an integer, got ${show(value)}`);
  }
  if (value < min) fail(`${label} ${value} must be ${min === 0 ? 'non-negative' : 'positive'}`);
  return value;
}

function requireNonEmptyString(value: unknown, label: string): string {
  if (typeof value !== 'string' || value.trim() === '') fail(`${label} must be a non-empty string`);
  return value;
}

function requireBoolean(value: unknown, label: string): boolean {
  if (typeof value !== 'boolean') fail(`${label} must be a boolean, got ${show(value)}`);
  return value;
}

function requireArray(value: unknown, label: string): unknown[] {
  if (!Array.isArray(value)) fail(`${label} must be an array, got ${show(value)}`);
  return value;
}

/** Decodes `value` with `schema` after the semantic checks passed; reports the first issue. */
function decodeShape<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  label: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  fail(`${label}${where === '' ? '' : ` ${where}`}: ${issue.message}`);
}

/** A wire key: non-empty object of non-empty strings, without the hidden scope column. */
function validateWireKey(key: unknown, label: string): void {
  if (!isObject(key)) fail(`${label} must be a JSON object`);
  const names = Object.keys(key);
  if (names.length === 0) fail(`${label} must be non-empty`);
  if (names.includes(HIDDEN_SCOPE_COLUMN)) {
    fail(`${label} must not include hidden server column ${HIDDEN_SCOPE_COLUMN}`);
  }
  for (const name of names) {
    const value = key[name];
    if (typeof value !== 'string' || value === '') {
      fail(`${label} values must be non-empty strings (${name} is ${show(value)})`);
    }
  }
}

function validateWirePayload(payload: unknown, label: string): void {
  if (!isObject(payload)) fail(`${label} must be a JSON object`);
  if (Object.hasOwn(payload, HIDDEN_SCOPE_COLUMN)) {
    fail(`${label} must not include hidden server column ${HIDDEN_SCOPE_COLUMN}`);
  }
  for (const [column, value] of Object.entries(payload)) {
    // G2 sends INTEGER values as strings. A JSON integer beyond 2^53 has already lost digits in
    // JSON.parse; refuse it here rather than let a rounded business value reach the database.
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      fail(`${label} ${column} is a JSON number beyond 2^53 (int64 values must be strings)`);
    }
  }
}

/** One committed/pulled row: `{schema, table, key, op, row_version, payload?}`. */
function validateBundleRow(row: unknown, where: string): void {
  if (!isObject(row)) fail(`${where}: bundle row must be a JSON object`);
  const label = `${where}: bundle row`;
  requireNonEmptyString(row.schema, `${label} schema`);
  requireNonEmptyString(row.table, `${label} table`);
  validateWireKey(row.key, `${label} key`);
  requireInteger(row.row_version, `${label} row_version`, 1);
  if (!ROW_OPS.has(row.op)) fail(`${label} op ${show(row.op)} is unsupported`);
  if (row.op !== 'DELETE') {
    if (row.payload === undefined || row.payload === null) {
      fail(`${label} payload must be present for ${String(row.op)}`);
    }
    validateWirePayload(row.payload, `${label} payload`);
  } else if (row.payload !== undefined && row.payload !== null) {
    validateWirePayload(row.payload, `${label} payload`);
  }
}

/** One pulled bundle: identity plus its complete rows. */
function validateBundle(bundle: unknown, where: string): number {
  if (!isObject(bundle)) fail(`${where} must be a JSON object`);
  const seq = requireInteger(bundle.bundle_seq, `${where} bundle_seq`, 1);
  const label = `${where} (bundle_seq ${seq})`;
  if (typeof bundle.source_id !== 'string' || !isValidSourceId(bundle.source_id)) {
    fail(`${label} source_id ${show(bundle.source_id)} is not a valid source id`);
  }
  requireInteger(bundle.source_bundle_id, `${label} source_bundle_id`, 1);
  const rows = requireArray(bundle.rows, `${label} rows`);
  if (bundle.row_count !== undefined) {
    const rowCount = requireInteger(bundle.row_count, `${label} row_count`, 0);
    if (rowCount !== rows.length) {
      fail(`${label} row_count ${rowCount} does not match ${rows.length} rows`);
    }
  }
  rows.forEach((row, i) => {
    validateBundleRow(row, `${label} row ${i}`);
  });
  return seq;
}

/**
 * Context of {@link validatePullResponse}: the request's cursor and, from the second page of a
 * pull run on, the frozen ceiling.
 *
 * @example
 * ```ts
 * const ctx: PullValidationContext = { afterBundleSeq: 12, targetBundleSeq: 40 };
 * ```
 */
export interface PullValidationContext {
  readonly afterBundleSeq: number;
  readonly targetBundleSeq?: number;
}

/**
 * Validates a `GET /sync/pull` page and returns it typed.
 *
 * Rules: `stable_bundle_seq ≥ after_bundle_seq` (and `= target_bundle_seq` when frozen); a
 * non-empty page needs `stable_bundle_seq > 0`; bundles strictly increasing, each `> after` and
 * `≤ stable`; `has_more` needs at least one bundle and room below the ceiling; every bundle has a
 * positive `bundle_seq`/`source_bundle_id`, a valid `source_id`, `row_count` (when sent) equal to
 * its rows; every row a non-empty schema/table/key, positive `row_version`, a known op, a payload
 * object for INSERT/UPDATE, and no `_sync_scope_id` in key or payload.
 *
 * @example
 * ```ts
 * const page = validatePullResponse(await response.json(), { afterBundleSeq: checkpoint });
 * for (const bundle of page.bundles) await applyBundle(bundle);
 * ```
 */
export function validatePullResponse(resp: unknown, ctx: PullValidationContext): PullResponse {
  if (!isObject(resp)) fail('pull response must be a JSON object');
  const after = ctx.afterBundleSeq;
  const stable = requireInteger(resp.stable_bundle_seq, 'pull response stable_bundle_seq', 0);
  if (stable < after) {
    fail(`pull response stable_bundle_seq ${stable} is behind requested after_bundle_seq ${after}`);
  }
  if (ctx.targetBundleSeq !== undefined && stable !== ctx.targetBundleSeq) {
    fail(
      `pull response stable_bundle_seq ${stable} does not match frozen target_bundle_seq ${ctx.targetBundleSeq}`,
    );
  }
  const bundles = requireArray(resp.bundles, 'pull response bundles');
  const hasMore = requireBoolean(resp.has_more, 'pull response has_more');
  if (bundles.length > 0 && stable === 0) {
    fail('pull response missing stable_bundle_seq for non-empty bundle list');
  }
  let previous = after;
  bundles.forEach((bundle, i) => {
    const seq = validateBundle(bundle, `pull response bundle ${i}`);
    if (seq <= previous) {
      fail(`pull response bundle_seq ${seq} is not strictly greater than previous ${previous}`);
    }
    if (seq > stable) fail(`pull response bundle_seq ${seq} exceeds stable_bundle_seq ${stable}`);
    previous = seq;
  });
  if (hasMore && bundles.length === 0) {
    fail('pull response with has_more=true must include at least one bundle');
  }
  if (hasMore && previous >= stable) {
    fail(`pull response has_more=true although bundle_seq ${previous} reached the stable ceiling`);
  }
  return decodeShape(PullResponseSchema, resp, 'pull response');
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/**
 * True for an RFC 3339 instant with an explicit offset (`Z` or `±HH:MM`), fractions up to
 * nanoseconds, and calendar-valid fields (no February 30th, no hour 24).
 *
 * @example
 * ```ts
 * isRfc3339Instant('2099-01-01T00:00:00Z'); // true
 * isRfc3339Instant('not-a-timestamp'); // false
 * ```
 */
export function isRfc3339Instant(value: string): boolean {
  const m = RFC3339.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/**
 * Validates a `POST /sync/snapshot-sessions` response and returns it typed.
 *
 * Rules: non-empty `snapshot_id`; non-negative `snapshot_bundle_seq`, `row_count` and
 * `byte_count` (required: missing is not zero); a non-empty row set needs
 * `snapshot_bundle_seq > 0`; `row_count == 0 ⇔ byte_count == 0`; `expires_at` an RFC 3339
 * instant.
 *
 * @example
 * ```ts
 * const session = validateSnapshotSession(await response.json());
 * let after = 0;
 * ```
 */
export function validateSnapshotSession(resp: unknown): SnapshotSession {
  if (!isObject(resp)) fail('snapshot session response must be a JSON object');
  if (typeof resp.snapshot_id !== 'string' || resp.snapshot_id.trim() === '') {
    fail('snapshot session response missing snapshot_id');
  }
  const seq = requireInteger(resp.snapshot_bundle_seq, 'snapshot session snapshot_bundle_seq', 0);
  const rowCount = requireInteger(resp.row_count, 'snapshot session row_count', 0);
  if (rowCount > 0 && seq === 0) {
    fail('snapshot session missing snapshot_bundle_seq for non-empty row set');
  }
  if (resp.byte_count === undefined) fail('snapshot session response missing byte_count');
  const byteCount = requireInteger(resp.byte_count, 'snapshot session byte_count', 0);
  if ((rowCount === 0) !== (byteCount === 0)) {
    fail(
      `snapshot session row_count ${rowCount} and byte_count ${byteCount} must be both zero or both positive`,
    );
  }
  if (typeof resp.expires_at !== 'string' || resp.expires_at === '') {
    fail('snapshot session response missing expires_at');
  }
  if (!isRfc3339Instant(resp.expires_at)) {
    fail(`snapshot session expires_at must be an RFC3339/ISO-8601 instant: '${resp.expires_at}'`);
  }
  return decodeShape(SnapshotSessionSchema, resp, 'snapshot session response');
}

/**
 * What a snapshot chunk request asked for; {@link decodeSnapshotChunk} checks the answer
 * against it.
 *
 * @example
 * ```ts
 * const request: SnapshotChunkRequest = {
 *   snapshotId: session.snapshot_id, afterRowOrdinal: 0, maxRows: 1000, maxBytes: 4_194_304,
 * };
 * ```
 */
export interface SnapshotChunkRequest {
  readonly snapshotId: string;
  readonly afterRowOrdinal: number;
  readonly maxRows: number;
  readonly maxBytes: number;
}

/**
 * Context of {@link validateSnapshotChunk}: the request, the session's totals and what earlier
 * chunks of the same session already delivered.
 *
 * @example
 * ```ts
 * const ctx: SnapshotChunkValidationContext = {
 *   snapshotId: session.snapshot_id, afterRowOrdinal: 0, maxRows: 1000, maxBytes: 4_194_304,
 *   session, rowsSoFar: 0, bytesSoFar: 0,
 * };
 * ```
 */
export interface SnapshotChunkValidationContext extends SnapshotChunkRequest {
  readonly session: {
    readonly snapshot_bundle_seq: number;
    readonly row_count: number;
    readonly byte_count: number;
  };
  readonly rowsSoFar: number;
  readonly bytesSoFar: number;
}

function validateSnapshotRow(row: unknown, where: string): void {
  if (!isObject(row)) fail(`${where}: snapshot row must be a JSON object`);
  for (const member of Object.keys(row)) {
    if (!SNAPSHOT_ROW_MEMBERS.has(member))
      fail(`${where}: snapshot row has unknown member ${member}`);
  }
  const label = `${where}: snapshot row`;
  requireNonEmptyString(row.schema, `${label} schema`);
  requireNonEmptyString(row.table, `${label} table`);
  validateWireKey(row.key, `${label} key`);
  requireInteger(row.row_version, `${label} row_version`, 1);
  if (row.payload === undefined || row.payload === null) fail(`${label} payload must be present`);
  validateWirePayload(row.payload, `${label} payload`);
}

/**
 * Validates one snapshot chunk against its request only (no session totals) and returns it typed;
 * this is what the HTTP client applies to every chunk it returns.
 *
 * Rules: exactly the six envelope members and five row members; `snapshot_id` echoes the
 * request; a non-empty row set needs `snapshot_bundle_seq > 0`; `next_row_ordinal =
 * after_row_ordinal + rows`; `has_more` needs a row; `byte_count` required, `≤ max_bytes`, zero
 * exactly when there are no rows; at most `max_rows` rows; every row valid (positive
 * `row_version`, payload object, no `_sync_scope_id`).
 *
 * @example
 * ```ts
 * const chunk = decodeSnapshotChunk(json, {
 *   snapshotId, afterRowOrdinal: after, maxRows: 1000, maxBytes: 4_194_304,
 * });
 * ```
 */
export function decodeSnapshotChunk(
  resp: unknown,
  request: SnapshotChunkRequest,
): SnapshotChunkResponse {
  if (!isObject(resp)) fail('snapshot chunk response must be a JSON object');
  for (const member of Object.keys(resp)) {
    if (!SNAPSHOT_CHUNK_MEMBERS.has(member)) {
      fail(`snapshot chunk response has unknown member ${member}`);
    }
  }
  if (resp.snapshot_id !== request.snapshotId) {
    fail(
      `snapshot chunk response snapshot_id ${show(resp.snapshot_id)} does not match requested ${request.snapshotId}`,
    );
  }
  const seq = requireInteger(
    resp.snapshot_bundle_seq,
    'snapshot chunk response snapshot_bundle_seq',
    0,
  );
  const rows = requireArray(resp.rows, 'snapshot chunk response rows');
  if (rows.length > 0 && seq === 0) {
    fail('snapshot chunk response missing snapshot_bundle_seq for non-empty row set');
  }
  const next = requireInteger(resp.next_row_ordinal, 'snapshot chunk response next_row_ordinal', 0);
  const expectedNext = request.afterRowOrdinal + rows.length;
  if (next !== expectedNext) {
    fail(
      `snapshot chunk response next_row_ordinal ${next} does not match expected ${expectedNext}`,
    );
  }
  const hasMore = requireBoolean(resp.has_more, 'snapshot chunk response has_more');
  if (hasMore && rows.length === 0) {
    fail('snapshot chunk response with has_more=true must include at least one row');
  }
  if (resp.byte_count === undefined) fail('snapshot chunk response missing byte_count');
  const byteCount = requireInteger(resp.byte_count, 'snapshot chunk response byte_count', 0);
  if (rows.length > request.maxRows) {
    fail(`snapshot chunk response has ${rows.length} rows, more than max_rows ${request.maxRows}`);
  }
  if (byteCount > request.maxBytes) {
    fail(`snapshot chunk response byte_count ${byteCount} exceeds max_bytes ${request.maxBytes}`);
  }
  if ((rows.length === 0) !== (byteCount === 0)) {
    fail(
      `snapshot chunk response byte_count ${byteCount} is inconsistent with ${rows.length} rows`,
    );
  }
  rows.forEach((row, i) => {
    validateSnapshotRow(
      row,
      `snapshot chunk response row ${i} (ordinal ${request.afterRowOrdinal + i + 1})`,
    );
  });
  return decodeShape(SnapshotChunkResponseSchema, resp, 'snapshot chunk response');
}

/**
 * Validates one snapshot chunk against its request and its session, and returns it typed.
 *
 * In addition to {@link decodeSnapshotChunk}: `snapshot_bundle_seq` equals the session's; the
 * running row and byte totals never exceed the session's `row_count`/`byte_count`, stay below
 * them while `has_more`, and equal them on the last chunk.
 *
 * @example
 * ```ts
 * const chunk = validateSnapshotChunk(await remote.snapshotChunk(ctx, id, query), {
 *   snapshotId: id, ...query, session, rowsSoFar, bytesSoFar,
 * });
 * rowsSoFar += chunk.rows.length;
 * bytesSoFar += chunk.byte_count;
 * ```
 */
export function validateSnapshotChunk(
  resp: unknown,
  ctx: SnapshotChunkValidationContext,
): SnapshotChunkResponse {
  const chunk = decodeSnapshotChunk(resp, ctx);
  const { session } = ctx;
  if (chunk.snapshot_bundle_seq !== session.snapshot_bundle_seq) {
    fail(
      `snapshot chunk response snapshot_bundle_seq ${chunk.snapshot_bundle_seq} does not match session ${session.snapshot_bundle_seq}`,
    );
  }
  const rows = ctx.rowsSoFar + chunk.rows.length;
  const bytes = ctx.bytesSoFar + chunk.byte_count;
  if (rows > session.row_count) {
    fail(
      `snapshot chunks delivered ${rows} rows, more than session row_count ${session.row_count}`,
    );
  }
  if (bytes > session.byte_count) {
    fail(
      `snapshot chunks delivered ${bytes} bytes, more than session byte_count ${session.byte_count}`,
    );
  }
  if (chunk.has_more) {
    if (rows === session.row_count || bytes === session.byte_count) {
      fail(
        `snapshot chunk response has_more=true although the session totals (${session.row_count} rows, ${session.byte_count} bytes) are reached`,
      );
    }
  }
  // Final totals are checked by the caller after the last chunk is staged, so a short snapshot
  // leaves its staged rows inspectable and reports the session-level mismatch.
  return chunk;
}

/**
 * What a committed-bundle page must echo: the committed bundle's identity (from the commit or
 * `already_committed` response) and the page cursor. `afterRowOrdinal` is the request's
 * `after_row_ordinal`: omit it (or pass `-1`) for the first page.
 *
 * @example
 * ```ts
 * const expected: CommittedBundleExpectation = {
 *   bundleSeq: commit.bundle_seq, sourceId, sourceBundleId: commit.source_bundle_id,
 *   rowCount: commit.row_count, bundleHash: commit.bundle_hash,
 *   canonicalRequestHash: outbox.canonicalRequestHash,
 * };
 * ```
 */
export interface CommittedBundleExpectation {
  readonly bundleSeq: number;
  readonly sourceId: string;
  readonly sourceBundleId: number;
  readonly rowCount?: number;
  readonly bundleHash?: string;
  readonly canonicalRequestHash?: string;
  readonly afterRowOrdinal?: number;
}

/**
 * Validates one `GET /sync/committed-bundles/{seq}/rows` page and returns it typed.
 *
 * Rules: `bundle_seq`, `source_id`, `source_bundle_id` (and, when given, `row_count`,
 * `bundle_hash`) echo the committed bundle; `canonical_request_hash` is 64 lowercase hex and,
 * when given, equals ours (else `source_sequence_mismatch`); `next_row_ordinal` is the 0-based
 * ordinal of the last returned row (`after + rows`, or `after` for an empty page); `has_more`
 * needs a row; rows never run past `row_count` and reach it exactly on the last page; every row
 * valid as in {@link validatePullResponse}.
 *
 * @example
 * ```ts
 * let after: number | undefined;
 * do {
 *   const page = validateCommittedBundleChunk(
 *     await remote.committedBundleRows(ctx, seq, { afterRowOrdinal: after, maxRows: 1000 }),
 *     { ...expected, afterRowOrdinal: after },
 *   );
 *   rows.push(...page.rows);
 *   after = page.next_row_ordinal;
 *   if (!page.has_more) break;
 * } while (true);
 * ```
 */
export function validateCommittedBundleChunk(
  resp: unknown,
  expected: CommittedBundleExpectation,
): CommittedBundleRowsResponse {
  const label = 'committed bundle chunk response';
  if (!isObject(resp)) fail(`${label} must be a JSON object`);
  const echo = (member: string, want: unknown): void => {
    if (want !== undefined && resp[member] !== want) {
      fail(`${label} ${member} ${show(resp[member])} does not match expected ${show(want)}`, {
        member,
        expected: want,
        actual: resp[member],
      });
    }
  };
  echo('bundle_seq', expected.bundleSeq);
  echo('source_id', expected.sourceId);
  echo('source_bundle_id', expected.sourceBundleId);
  const rowCount = requireInteger(resp.row_count, `${label} row_count`, 0);
  echo('row_count', expected.rowCount);
  requireNonEmptyString(resp.bundle_hash, `${label} bundle_hash`);
  echo('bundle_hash', expected.bundleHash);
  const requestHash = resp.canonical_request_hash;
  if (typeof requestHash !== 'string' || !SHA256_HEX.test(requestHash)) {
    fail(`${label} canonical_request_hash must be 64 lowercase hexadecimal characters`);
  }
  if (
    expected.canonicalRequestHash !== undefined &&
    requestHash !== expected.canonicalRequestHash
  ) {
    throw clientError(
      'source_sequence_mismatch',
      `${label} canonical_request_hash ${requestHash} does not match expected ${expected.canonicalRequestHash}`,
      { expected: expected.canonicalRequestHash, actual: requestHash },
    );
  }
  const rows = requireArray(resp.rows, `${label} rows`);
  const after = expected.afterRowOrdinal ?? -1;
  const next = resp.next_row_ordinal;
  if (typeof next !== 'number' || !Number.isSafeInteger(next)) {
    fail(`${label} next_row_ordinal must be an integer, got ${show(next)}`);
  }
  // An empty first page echoes 0 (the server's "absent") or -1; both mean "nothing yet".
  const nextOk =
    rows.length === 0
      ? next === after || (after === -1 && next === 0)
      : next === after + rows.length;
  if (!nextOk) {
    fail(
      `${label} next_row_ordinal ${next} does not match expected ${rows.length === 0 ? after : after + rows.length}`,
    );
  }
  const hasMore = requireBoolean(resp.has_more, `${label} has_more`);
  if (hasMore && rows.length === 0) {
    fail(`${label} with has_more=true must include at least one row`);
  }
  const delivered = after + 1 + rows.length;
  if (delivered > rowCount) {
    fail(`${label} rows run to ${delivered}, past row_count ${rowCount}`);
  }
  if (!hasMore && delivered !== rowCount) {
    fail(`${label} ended after ${delivered} rows, row_count is ${rowCount}`);
  }
  if (hasMore && delivered === rowCount) {
    fail(`${label} has_more=true although all ${rowCount} rows were delivered`);
  }
  rows.forEach((row, i) => {
    validateBundleRow(row, `${label} row ${i} (ordinal ${after + 1 + i})`);
  });
  return decodeShape(CommittedBundleRowsResponseSchema, resp, label);
}

/**
 * Recomputes the G2 `bundle_hash` of a committed bundle's complete row list (in stream order,
 * `row_ordinal` = index) and compares it with the server's value; a mismatch is a
 * `protocol_error` with `details.expected` (server) and `details.actual` (recomputed).
 *
 * @example
 * ```ts
 * await verifyCommittedBundleHash(allRows, commit.bundle_hash);
 * ```
 */
export async function verifyCommittedBundleHash(
  rows: readonly BundleRow[],
  expectedBundleHash: string,
): Promise<void> {
  let actual: string;
  try {
    actual = await bundleHash(
      rows.map((row) => ({
        schema: row.schema,
        table: row.table,
        key: row.key,
        op: row.op,
        rowVersion: row.row_version,
        payload: row.payload ?? null,
      })),
    );
  } catch (error) {
    throw clientError(
      'protocol_error',
      `committed bundle rows cannot be hashed: ${(error as Error).message}`,
      {},
      error,
    );
  }
  if (actual !== expectedBundleHash) {
    fail(
      `committed bundle_hash mismatch: server sent ${expectedBundleHash}, rows hash to ${actual}`,
      { expected: expectedBundleHash, actual },
    );
  }
}
