import type { ErrorCode } from '@oversync/protocol';

/** Every endpoint the handler serves. */
export type RouteName =
  | 'capabilities'
  | 'connect'
  | 'pushCreate'
  | 'pushChunk'
  | 'pushCommit'
  | 'pushDelete'
  | 'committedRows'
  | 'pull'
  | 'watch'
  | 'snapshotCreate'
  | 'snapshotChunk'
  | 'snapshotDelete'
  | 'health'
  | 'status';

interface RouteDef {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  name: RouteName;
  /** The code of an unexpected failure on this endpoint. */
  failure: ErrorCode;
  /** Needs an authenticated actor with a source id. */
  auth: boolean;
}

const ID = '([^/]+)';

/** The route table: paths relative to the base path. */
export const ROUTES: readonly RouteDef[] = [
  {
    method: 'GET',
    pattern: /^\/sync\/capabilities$/,
    name: 'capabilities',
    failure: 'internal_error',
    auth: true,
  },
  {
    method: 'POST',
    pattern: /^\/sync\/connect$/,
    name: 'connect',
    failure: 'connect_failed',
    auth: true,
  },
  {
    method: 'POST',
    pattern: /^\/sync\/push-sessions$/,
    name: 'pushCreate',
    failure: 'push_session_create_failed',
    auth: true,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/sync/push-sessions/${ID}/chunks$`),
    name: 'pushChunk',
    failure: 'push_chunk_failed',
    auth: true,
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/sync/push-sessions/${ID}/commit$`),
    name: 'pushCommit',
    failure: 'push_session_commit_failed',
    auth: true,
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/sync/push-sessions/${ID}$`),
    name: 'pushDelete',
    failure: 'push_session_delete_failed',
    auth: true,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/sync/committed-bundles/${ID}/rows$`),
    name: 'committedRows',
    failure: 'committed_bundle_rows_failed',
    auth: true,
  },
  { method: 'GET', pattern: /^\/sync\/pull$/, name: 'pull', failure: 'pull_failed', auth: true },
  {
    method: 'GET',
    pattern: /^\/sync\/watch$/,
    name: 'watch',
    failure: 'bundle_change_watch_failed',
    auth: true,
  },
  {
    method: 'POST',
    pattern: /^\/sync\/snapshot-sessions$/,
    name: 'snapshotCreate',
    failure: 'snapshot_session_create_failed',
    auth: true,
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/sync/snapshot-sessions/${ID}$`),
    name: 'snapshotChunk',
    failure: 'snapshot_chunk_failed',
    auth: true,
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/sync/snapshot-sessions/${ID}$`),
    name: 'snapshotDelete',
    failure: 'snapshot_session_delete_failed',
    auth: true,
  },
  {
    method: 'GET',
    pattern: /^\/syncx\/health$/,
    name: 'health',
    failure: 'health_failed',
    auth: false,
  },
  {
    method: 'GET',
    pattern: /^\/syncx\/status$/,
    name: 'status',
    failure: 'status_failed',
    auth: false,
  },
];

/** Result of matching a path: a route, a known path with the wrong method, or nothing. */
export type RouteMatch =
  | { kind: 'route'; route: RouteDef; param: string }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

/** Matches a method and a path (already stripped of the base path). */
export function matchRoute(method: string, path: string): RouteMatch {
  const allow: string[] = [];
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.method === method || (method === 'HEAD' && r.method === 'GET')) {
      let param = '';
      try {
        param = m[1] === undefined ? '' : decodeURIComponent(m[1]);
      } catch {
        param = m[1] ?? '';
      }
      return { kind: 'route', route: r, param };
    }
    allow.push(r.method);
  }
  return allow.length > 0 ? { kind: 'method_not_allowed', allow } : { kind: 'not_found' };
}
