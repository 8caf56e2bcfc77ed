import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  BundleRowSchema,
  CapabilitiesResponseSchema,
  ConnectRequestSchema,
  ConnectResponseSchema,
  DEFAULT_BUNDLE_LIMITS,
  ERROR_CODES,
  ErrorBodySchema,
  PushRowSchema,
  PushSessionChunkRequestSchema,
  PushSessionCreateRequestSchema,
  PushSessionCreateResponseSchema,
  SnapshotChunkResponseSchema,
  SnapshotSessionCreateRequestSchema,
  SnapshotSessionSchema,
  SourceRetiredBodySchema,
  StatusResponseSchema,
  SyncError,
} from '../src/index.js';

describe('request schemas', () => {
  it('ignore unknown members', () => {
    expect(v.parse(ConnectRequestSchema, { has_local_pending_rows: true, source_id: 'x' })).toEqual(
      {
        has_local_pending_rows: true,
      },
    );
    expect(v.parse(ConnectRequestSchema, {})).toEqual({});
  });

  it.each([
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 53],
    ['a numeric string', '7'],
    ['null', null],
  ])('reject %s where an integer is required', (_label, value) => {
    expect(
      v.is(PushSessionCreateRequestSchema, { source_bundle_id: value, planned_row_count: 1 }),
    ).toBe(false);
    expect(v.is(PushSessionChunkRequestSchema, { start_row_ordinal: value, rows: [] })).toBe(false);
  });

  it('leave range checks to the server (negative values decode)', () => {
    expect(
      v.is(PushSessionCreateRequestSchema, { source_bundle_id: 0, planned_row_count: -1 }),
    ).toBe(true);
  });

  it('keep an absent push row payload distinct from null', () => {
    const row = {
      schema: 'main',
      table: 'users',
      key: { id: 'u1' },
      op: 'DELETE',
      base_row_version: 3,
    };
    expect('payload' in v.parse(PushRowSchema, row)).toBe(false);
    expect(v.parse(PushRowSchema, { ...row, payload: null }).payload).toBeNull();
  });

  it('keep non-string key values for a precise server message', () => {
    const row = {
      schema: 'main',
      table: 'users',
      key: { id: 7 },
      op: 'insert',
      base_row_version: 0,
    };
    expect(v.parse(PushRowSchema, row).key).toEqual({ id: 7 });
  });
});

describe('SnapshotSessionCreateRequestSchema', () => {
  const replacement = { previous_source_id: 'old', new_source_id: 'new', reason: 'source_retired' };

  it('accepts a plain and a replacement body', () => {
    expect(v.parse(SnapshotSessionCreateRequestSchema, {})).toEqual({});
    expect(
      v.parse(SnapshotSessionCreateRequestSchema, { source_replacement: replacement }),
    ).toEqual({
      source_replacement: replacement,
    });
  });

  it.each([
    ['an unknown top-level member', { source_id: 'x' }],
    ['an unknown nested member', { source_replacement: { ...replacement, extra: 1 } }],
    ['an unknown reason', { source_replacement: { ...replacement, reason: 'bored' } }],
    [
      'a missing new_source_id',
      { source_replacement: { previous_source_id: 'a', reason: 'history_pruned' } },
    ],
    ['null', null],
  ])('rejects %s', (_label, body) => {
    expect(v.is(SnapshotSessionCreateRequestSchema, body)).toBe(false);
  });
});

const CAPABILITIES = {
  protocol_version: 'v1',
  schema_version: 1,
  registered_table_specs: [{ schema: 'main', table: 'users', sync_key_columns: ['id'] }],
  features: { connect_lifecycle: true },
  bundle_limits: { ...DEFAULT_BUNDLE_LIMITS },
};

describe('CapabilitiesResponseSchema', () => {
  it('accepts a G2 document with the default limits', () => {
    expect(v.parse(CapabilitiesResponseSchema, CAPABILITIES)).toEqual(CAPABILITIES);
  });

  it.each([
    'default_rows_per_snapshot_chunk',
    'max_rows_per_snapshot_chunk',
    'default_bytes_per_snapshot_chunk',
    'max_bytes_per_snapshot_chunk',
    'max_bytes_per_snapshot_row',
    'max_concurrent_snapshot_builds',
    'max_concurrent_snapshot_chunk_requests',
  ])('requires bundle_limits.%s', (member) => {
    const limits: Record<string, number> = { ...DEFAULT_BUNDLE_LIMITS };
    delete limits[member];
    expect(v.is(CapabilitiesResponseSchema, { ...CAPABILITIES, bundle_limits: limits })).toBe(
      false,
    );
    expect(
      v.is(CapabilitiesResponseSchema, {
        ...CAPABILITIES,
        bundle_limits: { ...limits, [member]: 0 },
      }),
    ).toBe(false);
  });

  it('treats older limit members as optional', () => {
    const { max_rows_per_push_chunk: _drop, ...limits } = DEFAULT_BUNDLE_LIMITS;
    expect(v.is(CapabilitiesResponseSchema, { ...CAPABILITIES, bundle_limits: limits })).toBe(true);
  });

  it('requires registered_table_specs and boolean features', () => {
    const { registered_table_specs: _drop, ...withoutSpecs } = CAPABILITIES;
    expect(v.is(CapabilitiesResponseSchema, withoutSpecs)).toBe(false);
    expect(v.is(CapabilitiesResponseSchema, { ...CAPABILITIES, features: { x: 'yes' } })).toBe(
      false,
    );
  });
});

describe('response schemas', () => {
  const hash = 'a'.repeat(64);
  const pushId = 'abcdef01-1111-4111-8111-111111111111';

  it('require canonical tokens from the server', () => {
    const staging = {
      status: 'staging',
      push_id: pushId,
      planned_row_count: 1,
      next_expected_row_ordinal: 0,
      canonical_request_hash: hash,
    };
    expect(v.is(PushSessionCreateResponseSchema, staging)).toBe(true);
    expect(
      v.is(PushSessionCreateResponseSchema, { ...staging, push_id: pushId.toUpperCase() }),
    ).toBe(false);
    expect(
      v.is(PushSessionCreateResponseSchema, { ...staging, canonical_request_hash: 'A'.repeat(64) }),
    ).toBe(false);
    expect(v.is(PushSessionCreateResponseSchema, { ...staging, status: 'pending' })).toBe(false);
    expect(
      v.is(ConnectResponseSchema, { resolution: 'initialize_local', initialization_id: 'abc' }),
    ).toBe(false);
  });

  it('accept DELETE bundle rows with a null or absent payload', () => {
    const row = { schema: 'main', table: 'users', key: { id: 'u1' }, op: 'DELETE', row_version: 2 };
    expect(v.is(BundleRowSchema, row)).toBe(true);
    expect(v.is(BundleRowSchema, { ...row, payload: null })).toBe(true);
    expect(v.is(BundleRowSchema, { ...row, row_version: 0 })).toBe(false);
    expect(v.is(BundleRowSchema, { ...row, key: { id: 1 } })).toBe(false);
  });

  it('decode snapshot chunks strictly', () => {
    const chunk = {
      snapshot_id: 's',
      snapshot_bundle_seq: 1,
      rows: [],
      next_row_ordinal: 0,
      has_more: false,
      byte_count: 0,
    };
    expect(v.is(SnapshotChunkResponseSchema, chunk)).toBe(true);
    expect(v.is(SnapshotChunkResponseSchema, { ...chunk, extra: 1 })).toBe(false);
    const { byte_count: _drop, ...withoutBytes } = chunk;
    expect(v.is(SnapshotChunkResponseSchema, withoutBytes)).toBe(false);
    const row = { schema: 'main', table: 'users', key: { id: 'u' }, row_version: 1, payload: {} };
    expect(v.is(SnapshotChunkResponseSchema, { ...chunk, rows: [row] })).toBe(true);
    expect(v.is(SnapshotChunkResponseSchema, { ...chunk, rows: [{ ...row, op: 'INSERT' }] })).toBe(
      false,
    );
    expect(v.is(SnapshotChunkResponseSchema, { ...chunk, rows: [{ ...row, payload: null }] })).toBe(
      false,
    );
  });

  it('require snapshot session byte_count and an RFC 3339 expiry', () => {
    const session = {
      snapshot_id: 's',
      snapshot_bundle_seq: 9,
      row_count: 0,
      byte_count: 0,
      expires_at: '2026-03-22T12:30:00.123456789Z',
    };
    expect(v.is(SnapshotSessionSchema, session)).toBe(true);
    expect(
      v.is(SnapshotSessionSchema, { ...session, expires_at: '2026-03-22T12:30:00+02:00' }),
    ).toBe(true);
    expect(v.is(SnapshotSessionSchema, { ...session, expires_at: 'not-a-timestamp' })).toBe(false);
    const { byte_count: _drop, ...withoutBytes } = session;
    expect(v.is(SnapshotSessionSchema, withoutBytes)).toBe(false);
  });

  it('reject source_retired bodies with a null or empty replacement', () => {
    const body = { error: 'source_retired', message: 'm', source_id: 'old' };
    expect(v.is(SourceRetiredBodySchema, body)).toBe(true);
    expect(v.is(SourceRetiredBodySchema, { ...body, replaced_by_source_id: 'new' })).toBe(true);
    expect(v.is(SourceRetiredBodySchema, { ...body, replaced_by_source_id: null })).toBe(false);
    expect(v.is(SourceRetiredBodySchema, { ...body, replaced_by_source_id: '' })).toBe(false);
  });

  it('decode every SyncError wire body and no unknown code', () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      const body = new SyncError(code, 'msg', { extra: { detail: 1 } }).toWire();
      expect(v.parse(ErrorBodySchema, body)).toEqual(body);
    }
    expect(v.is(ErrorBodySchema, { error: 'no_such_code', message: 'm' })).toBe(false);
  });

  it('decode a status body', () => {
    const status = {
      status: 'healthy',
      version: 'v1',
      app_name: 'app',
      lifecycle: 'running',
      accepting_operations: true,
      inflight_operations: 0,
      registered_tables: ['main.users'],
      features: { bundle_pull: true },
      user_state_retention_floor_ahead_count: 0,
      latest_bundle_seq_max: 5,
      retained_bundle_floor_min: 0,
      retained_bundle_floor_max: 0,
      retained_bundle_window_min: 5,
      retained_bundle_window_max: 5,
      history_pruned_error_count: 0,
      accepted_push_replay_count: 0,
      rejected_registered_write_count: 0,
      committed_bundle_count: 5,
      committed_bundle_bytes: 1000,
    };
    expect(v.parse(StatusResponseSchema, status)).toEqual(status);
    expect(v.is(StatusResponseSchema, { ...status, lifecycle: 'paused' })).toBe(false);
  });
});
