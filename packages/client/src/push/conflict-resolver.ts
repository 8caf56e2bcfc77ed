/**
 * Push-conflict resolution: what the app decides when the server rejects a bundle with
 * `409 push_conflict` because a row changed on the server since the client last saw it.
 *
 * @module
 */

/**
 * What the server said about the conflicting row, plus the local intent.
 *
 * @example
 * ```ts
 * const resolver: ConflictResolver = (c: ConflictContext) =>
 *   c.serverRowDeleted ? { kind: 'accept_server' } : { kind: 'keep_local' };
 * ```
 */
export interface ConflictContext {
  readonly schema: string;
  readonly table: string;
  /** The wire key, e.g. `{ id: '0b9c…' }`. */
  readonly key: Readonly<Record<string, string>>;
  readonly localOp: 'INSERT' | 'UPDATE' | 'DELETE';
  /** The local row in wire form (numeric strings, base64 blobs, dashed UUIDs); null for DELETE. */
  readonly localPayload: Readonly<Record<string, unknown>> | null;
  readonly baseRowVersion: number;
  readonly serverRowVersion: number;
  readonly serverRowDeleted: boolean;
  /** The server's row in wire form, or null when it has none (missing or tombstone). */
  readonly serverRow: Readonly<Record<string, unknown>> | null;
}

/**
 * The decision of a resolver.
 *
 * @example
 * ```ts
 * const merged: ConflictResolution = {
 *   kind: 'keep_merged',
 *   mergedPayload: { ...c.serverRow, title: c.localPayload?.title },
 * };
 * ```
 */
export type ConflictResolution =
  | { readonly kind: 'accept_server' }
  | { readonly kind: 'keep_local' }
  /** A full row (every column, wire form) to write locally and push. Not allowed for DELETE. */
  | { readonly kind: 'keep_merged'; readonly mergedPayload: Readonly<Record<string, unknown>> };

/**
 * Decides one conflict. May be async (e.g. ask the user); it runs while the client holds its
 * operation lock, so keep it short or resolve from state you already have.
 *
 * @example
 * ```ts
 * const lastWriterWins: ConflictResolver = (c) =>
 *   c.serverRow && String(c.serverRow.updated_at) > String(c.localPayload?.updated_at)
 *     ? { kind: 'accept_server' }
 *     : { kind: 'keep_local' };
 * ```
 */
export type ConflictResolver = (
  context: ConflictContext,
) => ConflictResolution | Promise<ConflictResolution>;

/**
 * The default: the server's row wins.
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, resolver: serverWins });
 * ```
 */
export const serverWins: ConflictResolver = () => ({ kind: 'accept_server' });

/**
 * The local intent wins (it is re-pushed on top of the server's version).
 *
 * @example
 * ```ts
 * createOversyncClient({ ...options, resolver: clientWins });
 * ```
 */
export const clientWins: ConflictResolver = () => ({ kind: 'keep_local' });
