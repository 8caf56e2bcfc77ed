import {
  type BundleLimits,
  goHtmlEscape,
  PROTOCOL_VERSION,
  type SyncError,
} from '@oversync/protocol';
import type { ServiceContext } from '../context.js';
import { RawConflict } from '../push/conflicts.js';
import { goTimeText } from '../render/g1-payload.js';

/**
 * A JSON response as go-oversync writes it with Go's `json.Encoder`: `<`, `>`, `&`,
 * U+2028 and U+2029 escaped, and a trailing newline.
 *
 * @example
 * ```ts
 * return g1Json('{"ok":true}'); // body '{"ok":true}\n'
 * ```
 */
export function g1Json(
  text: string,
  status = 200,
  headers: Record<string, string> = {},
  options: { escaped?: boolean } = {},
): Response {
  // `escaped`: every string in `text` was written by the Go-style escaper already (bundle rows),
  // so the pass over a possibly very large body is skipped.
  return new Response(`${options.escaped ? text : goHtmlEscape(text)}\n`, {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * The G1 error body: `{"error","message"}`, plus the members go-oversync adds for
 * `source_retired` and `push_conflict`. G2-only detail members are left out, because G1
 * clients decode these bodies into fixed structures.
 *
 * @example
 * ```ts
 * g1ErrorBody(new SyncError('push_session_not_found', 'no such session'));
 * ```
 */
export function g1ErrorBody(err: SyncError): string {
  const wire = err.toWire() as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { error: wire.error, message: wire.message };
  if (err.code === 'source_retired') {
    out.source_id = wire.source_id;
    if (wire.replaced_by_source_id) out.replaced_by_source_id = wire.replaced_by_source_id;
  }
  const conflict = wire.conflict;
  if (err.code === 'push_conflict' && conflict !== undefined) {
    // Spliced in as text: the server row holds exact numbers a JSON round trip would round.
    const raw = conflict instanceof RawConflict ? conflict.json : JSON.stringify(conflict);
    return `${JSON.stringify(out).slice(0, -1)},"conflict":${raw}}`;
  }
  return JSON.stringify(out);
}

/** go-oversync's `BundleCapabilitiesLimits`, in its member order; zero members are omitted. */
const G1_LIMITS = [
  'max_rows_per_bundle',
  'max_bytes_per_bundle',
  'max_bundles_per_pull',
  'default_rows_per_push_chunk',
  'max_rows_per_push_chunk',
  'push_session_ttl_seconds',
  'default_rows_per_committed_bundle_chunk',
  'max_rows_per_committed_bundle_chunk',
  'default_rows_per_snapshot_chunk',
  'max_rows_per_snapshot_chunk',
  'snapshot_session_ttl_seconds',
  'max_rows_per_snapshot_session',
  'max_bytes_per_snapshot_session',
  'initialization_lease_ttl_seconds',
] as const satisfies readonly (keyof BundleLimits)[];

/**
 * The G1 capabilities document (protocol.md §3): only the limits go-oversync knows, empty
 * members omitted as Go's `omitempty` does.
 *
 * @example
 * ```ts
 * const text = g1Capabilities(ctx, limits, features);
 * ```
 */
export function g1Capabilities(
  ctx: ServiceContext,
  limits: Readonly<BundleLimits>,
  features: Record<string, boolean>,
): string {
  const tables = ctx.catalog.tables;
  const doc: Record<string, unknown> = {
    protocol_version: PROTOCOL_VERSION,
    schema_version: ctx.schemaVersion,
  };
  if (ctx.appName) doc.app_name = ctx.appName;
  if (tables.length > 0) {
    // The catalog keeps its tables sorted by `schema.table`, the order go-oversync lists them in.
    doc.registered_tables = tables.map((t) => `${t.schema}.${t.table}`);
    doc.registered_table_specs = tables.map((t) => ({
      schema: t.schema,
      table: t.table,
      sync_key_columns: [t.keyColumn],
    }));
  }
  doc.features = Object.fromEntries(Object.entries(features).sort(([a], [b]) => (a < b ? -1 : 1)));
  doc.bundle_limits = Object.fromEntries(
    G1_LIMITS.filter((k) => limits[k] > 0).map((k) => [k, limits[k]]),
  );
  return JSON.stringify(doc);
}

/**
 * A connect result with `lease_expires_at` in Go's RFC 3339 nano form.
 *
 * @example
 * ```ts
 * g1ConnectBody({ resolution: 'initialize_empty' }); // '{"resolution":"initialize_empty"}'
 * ```
 */
export function g1ConnectBody(result: object): string {
  const r = { ...(result as Record<string, unknown>) };
  if (typeof r.lease_expires_at === 'string') {
    r.lease_expires_at = goTimeText(new Date(r.lease_expires_at));
  }
  return JSON.stringify(r);
}
