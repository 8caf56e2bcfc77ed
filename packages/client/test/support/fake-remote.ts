/**
 * Minimal RemoteApi fakes for unit tests that only need attach to succeed or the network to be
 * down. Behaviour fixtures use their own scripted servers.
 */

import type { RemoteApi } from '../../src/index.js';
import { clientError } from '../../src/index.js';

const offline = (): never => {
  throw clientError('network_error', 'offline (test)');
};

/** Every call fails with `network_error`. */
export function offlineRemote(): RemoteApi {
  return {
    capabilities: async () => offline(),
    connect: async () => offline(),
    createPushSession: async () => offline(),
    uploadPushChunk: async () => offline(),
    commitPushSession: async () => offline(),
    deletePushSession: async () => undefined,
    committedBundleRows: async () => offline(),
    pull: async () => offline(),
    createSnapshotSession: async () => offline(),
    snapshotChunk: async () => offline(),
    deleteSnapshotSession: async () => undefined,
    watch: async () => offline(),
  };
}

/** Capabilities for one `main.users` table and `initialize_empty` on connect; the rest offline. */
export function scriptedAttachRemote(
  tables = [{ schema: 'main', table: 'users', sync_key_columns: ['id'] }],
): RemoteApi {
  return {
    ...offlineRemote(),
    capabilities: async () => ({
      protocol_version: 'v1',
      schema_version: 1,
      registered_table_specs: tables,
      features: { connect_lifecycle: true, bundle_change_watch: false },
      bundle_limits: {
        default_rows_per_snapshot_chunk: 1000,
        max_rows_per_snapshot_chunk: 4000,
        default_bytes_per_snapshot_chunk: 4194304,
        max_bytes_per_snapshot_chunk: 16777216,
        max_bytes_per_snapshot_row: 4194304,
        max_concurrent_snapshot_builds: 2,
        max_concurrent_snapshot_chunk_requests: 8,
      },
    }),
    connect: async () => ({ resolution: 'initialize_empty' }),
  };
}
