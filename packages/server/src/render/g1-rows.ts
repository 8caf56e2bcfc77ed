import { createHash } from 'node:crypto';
import { SyncError } from '@oversync/protocol';
import type { Catalog } from '../bootstrap/catalog.js';
import type { TableInfo } from '../bootstrap/table-info.js';
import { OP_DELETE, OP_NAMES, type OpCode } from '../capture/normalize.js';
import type { Queryable } from '../db/sync-database.js';
import { g1BundlePayload, goString } from './g1-payload.js';

/** One stored bundle row (as read from `sync.bundle_rows` or a commit's effects). */
export interface StoredBundleRow {
  tableId: number;
  op: OpCode;
  key: string;
  /** Stored canonical payload text; null for DELETE. */
  payload: string | null;
}

/** A bundle's rows rendered for a G1 client, with the G1 `bundle_hash` over exactly them. */
export interface G1RenderedBundle {
  /** Each row's wire JSON (`payload` omitted for DELETE, as go-oversync does). */
  rows: string[];
  bundleHash: string;
  /** UTF-8 length of the hashed canonical text (go-oversync's bundle `byte_count`); -1 when the hash came from the cache. */
  byteCount: number;
}

/**
 * Renders a whole bundle for G1 and computes its `bundle_hash` (protocol.md §2.8): SHA-256
 * over the Go-canonical array of `{key, op, payload, row_ordinal, row_version, schema,
 * table}` objects, built by concatenation because every part is canonical already.
 *
 * @example
 * ```ts
 * const { rows, bundleHash } = renderG1Bundle(catalog, '7', storedRows);
 * ```
 */
export function renderG1Bundle(
  catalog: Catalog,
  bundleSeq: string,
  stored: readonly StoredBundleRow[],
  knownHash?: string,
  from = 0,
  to = stored.length,
): G1RenderedBundle {
  const n = to - from;
  const rows: string[] = new Array(n);
  const items: string[] | undefined = knownHash === undefined ? new Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = stored[from + i] as StoredBundleRow;
    const t = catalog.byId(r.tableId);
    const parts = partsOf(t);
    const op = OP_NAMES[r.op];
    const key = `{${parts.keyColumn}:${goString(r.key)}}`;
    const payload = r.op === OP_DELETE || r.payload === null ? null : g1BundlePayload(t, r.payload);
    rows[i] = `${parts.rowHead}${key},"op":"${op}","row_version":${bundleSeq}${
      payload === null ? '}' : `,"payload":${payload}}`
    }`;
    if (items) {
      items[i] =
        `{"key":${key},"op":"${op}","payload":${payload ?? 'null'},"row_ordinal":${i},"row_version":${bundleSeq}${parts.itemTail}`;
    }
  }
  // A bundle never changes, so a hash computed once (cached) is reused without the input.
  if (!items) return { rows, bundleHash: knownHash as string, byteCount: -1 };
  const input = `[${items.join(',')}]`;
  return {
    rows,
    bundleHash: createHash('sha256').update(input, 'utf8').digest('hex'),
    byteCount: Buffer.byteLength(input, 'utf8'),
  };
}

/** The per-table constant parts of G1 rows and hash items, escaped once per table. */
interface TableParts {
  rowHead: string;
  keyColumn: string;
  itemTail: string;
}
const tableParts = new WeakMap<TableInfo, TableParts>();

function partsOf(t: TableInfo): TableParts {
  let p = tableParts.get(t);
  if (!p) {
    const schema = goString(t.schema);
    const table = goString(t.table);
    p = {
      rowHead: `{"schema":${schema},"table":${table},"key":`,
      keyColumn: goString(t.keyColumn),
      itemTail: `,"schema":${schema},"table":${table}}`,
    };
    tableParts.set(t, p);
  }
  return p;
}

/**
 * A small bounded cache of G1 bundle hashes. Committed bundles never change, so a hash
 * computed once (for a commit response, a replay or a committed-rows page) stays valid;
 * the key includes the internal user id, so users never share entries.
 */
export class G1HashCache {
  readonly #entries = new Map<string, string>();
  constructor(readonly capacity = 10_000) {}

  get(userPk: string, bundleSeq: string): string | undefined {
    return this.#entries.get(`${userPk}:${bundleSeq}`);
  }

  set(userPk: string, bundleSeq: string, hash: string): void {
    const k = `${userPk}:${bundleSeq}`;
    this.#entries.delete(k);
    this.#entries.set(k, hash);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }
}

/**
 * The G1 `bundle_hash` of a committed bundle, from the cache or computed from its stored rows.
 *
 * @example
 * ```ts
 * const hash = await g1BundleHashOf(ctx.db, ctx.catalog, ctx.g1Hashes, user.userPk, '12');
 * ```
 */
export async function g1BundleHashOf(
  q: Queryable,
  catalog: Catalog,
  cache: G1HashCache,
  userPk: string,
  bundleSeq: string,
): Promise<string> {
  const hit = cache.get(userPk, bundleSeq);
  if (hit) return hit;
  const { rows } = await q.query<{
    table_id: number;
    op: number;
    key: string;
    payload: string | null;
  }>(
    `SELECT table_id, op, key, payload FROM sync.bundle_rows
      WHERE user_pk = $1::int8 AND bundle_seq = $2::int8 ORDER BY row_ordinal`,
    [userPk, bundleSeq],
  );
  if (rows.length === 0) {
    // Pruned between the caller's floor check and this read; never cache an empty hash.
    throw new SyncError('history_pruned', `bundle ${bundleSeq} is no longer retained`);
  }
  const rendered = renderG1Bundle(
    catalog,
    bundleSeq,
    rows.map((r) => ({ tableId: r.table_id, op: r.op as OpCode, key: r.key, payload: r.payload })),
  );
  cache.set(userPk, bundleSeq, rendered.bundleHash);
  return rendered.bundleHash;
}
