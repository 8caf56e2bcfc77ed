import { PROTOCOL_VERSION } from '@oversync/protocol';
import type { ServiceContext } from '../context.js';

/** Service lifecycle as reported by `/syncx/status`. */
export type Lifecycle = 'running' | 'shutting_down' | 'closed';

interface Aggregates {
  at: number;
  text: string;
}

const CACHE_MS = 5000;

/**
 * Builds the `/syncx/status` body. The aggregates scan the user and bundle tables, so they
 * are cached for a few seconds instead of being recomputed on every probe.
 */
export function createStatusReporter(ctx: ServiceContext, features: Record<string, boolean>) {
  let cached: Aggregates | undefined;
  async function aggregates(): Promise<string> {
    if (cached && Date.now() - cached.at < CACHE_MS) return cached.text;
    const { rows } = await ctx.db.query<Record<string, string>>(
      `SELECT
         (SELECT count(*) FROM sync.user_state WHERE retained_bundle_floor > next_bundle_seq - 1)::text AS user_state_retention_floor_ahead_count,
         (SELECT COALESCE(max(next_bundle_seq - 1), 0) FROM sync.user_state)::text AS latest_bundle_seq_max,
         (SELECT COALESCE(min(retained_bundle_floor), 0) FROM sync.user_state)::text AS retained_bundle_floor_min,
         (SELECT COALESCE(max(retained_bundle_floor), 0) FROM sync.user_state)::text AS retained_bundle_floor_max,
         (SELECT COALESCE(min(next_bundle_seq - 1 - retained_bundle_floor), 0) FROM sync.user_state)::text AS retained_bundle_window_min,
         (SELECT COALESCE(max(next_bundle_seq - 1 - retained_bundle_floor), 0) FROM sync.user_state)::text AS retained_bundle_window_max,
         (SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM sync.history_pruned_error_seq)::text AS history_pruned_error_count,
         (SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM sync.accepted_push_replay_seq)::text AS accepted_push_replay_count,
         (SELECT last_value - CASE WHEN is_called THEN 0 ELSE 1 END FROM sync.rejected_write_seq)::text AS rejected_registered_write_count,
         (SELECT count(*) FROM sync.bundle_log)::text AS committed_bundle_count,
         (SELECT COALESCE(sum(byte_count), 0) FROM sync.bundle_log)::text AS committed_bundle_bytes`,
    );
    const r = rows[0] ?? {};
    const text = Object.entries(r)
      .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
      .join(',');
    cached = { at: Date.now(), text };
    return text;
  }
  return async (
    lifecycle: Lifecycle,
    inflight: number,
  ): Promise<{ healthy: boolean; body: string }> => {
    const agg = await aggregates();
    const floorAhead = /"user_state_retention_floor_ahead_count":(\d+)/.exec(agg)?.[1] ?? '0';
    const healthy = lifecycle === 'running' && floorAhead === '0';
    const head = {
      status: healthy ? 'healthy' : 'unhealthy',
      version: PROTOCOL_VERSION,
      app_name: ctx.appName,
      lifecycle,
      accepting_operations: lifecycle === 'running',
      inflight_operations: inflight,
      registered_tables: ctx.catalog.tables.map((t) => `${t.schema}.${t.table}`),
      features,
    };
    const json = JSON.stringify(head);
    return { healthy, body: `${json.slice(0, -1)},${agg}}` };
  };
}
