/**
 * Building blocks shared by the message schemas.
 *
 * Envelope integers are JSON numbers in both generations; `safeInteger` keeps a decoded value from
 * silently losing precision above 2^53 instead of pretending int64 support.
 *
 * @module
 */

import * as v from 'valibot';

/**
 * A JSON integer that JavaScript represents exactly.
 *
 * @example
 * ```ts
 * v.parse(WireIntegerSchema, 42); // 42
 * ```
 */
export const WireIntegerSchema = v.pipe(v.number(), v.safeInteger());

/**
 * A safe JSON integer ≥ 0 (counts, ordinals, sequence ceilings).
 *
 * @example
 * ```ts
 * v.parse(NonNegativeIntegerSchema, 0); // 0
 * ```
 */
export const NonNegativeIntegerSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/**
 * A safe JSON integer ≥ 1 (bundle sequences, row versions, limits).
 *
 * @example
 * ```ts
 * v.parse(PositiveIntegerSchema, 1); // 1
 * ```
 */
export const PositiveIntegerSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

/**
 * A structured sync key: `{ "<key column>": "<key text>" }`, values always strings.
 *
 * @example
 * ```ts
 * v.parse(SyncKeySchema, { id: 'user-1' });
 * ```
 */
export const SyncKeySchema = v.record(v.string(), v.string());

/**
 * A row payload: the full after-image as a JSON object keyed by lowercase column name.
 *
 * @example
 * ```ts
 * v.parse(PayloadSchema, { id: 'user-1', name: 'Ada' });
 * ```
 */
export const PayloadSchema = v.record(v.string(), v.unknown());

/**
 * Row operations.
 *
 * @example
 * ```ts
 * v.parse(RowOpSchema, 'INSERT');
 * ```
 */
export const RowOpSchema = v.picklist(['INSERT', 'UPDATE', 'DELETE']);

/**
 * A lowercase hex SHA-256 digest (64 characters), the form of `canonical_request_hash`.
 *
 * @example
 * ```ts
 * v.parse(Sha256HexSchema, 'a'.repeat(64));
 * ```
 */
export const Sha256HexSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));

/**
 * A canonical lowercase dashed UUID; G2 clients refuse server tokens in any other spelling.
 *
 * @example
 * ```ts
 * v.parse(CanonicalUuidSchema, '11111111-1111-4111-8111-111111111111');
 * ```
 */
export const CanonicalUuidSchema = v.pipe(
  v.string(),
  v.regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
);

/**
 * A source id: 1..255 visible ASCII characters (0x21..0x7E).
 *
 * @example
 * ```ts
 * v.parse(SourceIdSchema, 'device-a');
 * ```
 */
export const SourceIdSchema = v.pipe(v.string(), v.regex(/^[\x21-\x7e]{1,255}$/));

/**
 * An RFC 3339 instant with an explicit offset, fractions up to nanoseconds (the Dart client's
 * accepted form, which is also what Go's `RFC3339Nano` produces).
 *
 * @example
 * ```ts
 * v.parse(Rfc3339Schema, '2026-03-22T12:15:00.5Z');
 * ```
 */
export const Rfc3339Schema = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/),
);
