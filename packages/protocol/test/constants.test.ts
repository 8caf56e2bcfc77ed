import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  BundleLimitsSchema,
  DEFAULT_BUNDLE_LIMITS,
  FEATURE_FLAGS,
  isValidSourceId,
  SNAPSHOT_REPLACEMENT_REASONS,
  SourceIdSchema,
} from '../src/index.js';

describe('isValidSourceId', () => {
  it.each([
    ['a', true],
    ['3f0c9a1e-5e8b-4c4e-9d0b-6a1f2b3c4d5e', true],
    ['oversync-adoption:00000000-0000-4000-8000-000000000001', true],
    ['!~', true],
    ['x'.repeat(255), true],
    ['', false],
    ['x'.repeat(256), false],
    ['has space', false],
    [' padded', false],
    ['tab\t', false],
    ['del\u007f', false],
    ['dévice', false],
  ])('%j → %s', (id, expected) => {
    expect(isValidSourceId(id)).toBe(expected);
    // The wire schema and the helper must agree, or headers and bodies would disagree.
    expect(v.is(SourceIdSchema, id)).toBe(expected);
  });
});

describe('DEFAULT_BUNDLE_LIMITS', () => {
  it('is a valid advertised bundle_limits object', () => {
    expect(v.parse(BundleLimitsSchema, DEFAULT_BUNDLE_LIMITS)).toEqual(DEFAULT_BUNDLE_LIMITS);
  });

  it('satisfies the relations G2 clients check during negotiation', () => {
    const l = DEFAULT_BUNDLE_LIMITS;
    expect(l.default_rows_per_snapshot_chunk).toBeLessThanOrEqual(l.max_rows_per_snapshot_chunk);
    expect(l.default_bytes_per_snapshot_chunk).toBeLessThanOrEqual(l.max_bytes_per_snapshot_chunk);
    expect(l.max_bytes_per_snapshot_row).toBeLessThanOrEqual(l.max_bytes_per_snapshot_chunk);
    // Default client chunk and apply budgets are 4 MiB; a larger row limit would be refused.
    expect(l.max_bytes_per_snapshot_row).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(l.default_rows_per_push_chunk).toBeLessThanOrEqual(l.max_rows_per_push_chunk);
    expect(l.default_rows_per_committed_bundle_chunk).toBeLessThanOrEqual(
      l.max_rows_per_committed_bundle_chunk,
    );
    // 0 means unlimited (omitted from capabilities); only the bundle and session caps use it.
    const unlimited = new Set([
      'max_rows_per_bundle',
      'max_bytes_per_bundle',
      'max_rows_per_snapshot_session',
      'max_bytes_per_snapshot_session',
    ]);
    for (const [name, value] of Object.entries(l)) {
      expect(Number.isSafeInteger(value), name).toBe(true);
      expect(unlimited.has(name) ? value >= 0 : value > 0, name).toBe(true);
    }
  });

  it('cannot be mutated by accident', () => {
    expect(Object.isFrozen(DEFAULT_BUNDLE_LIMITS)).toBe(true);
  });
});

describe('name lists', () => {
  it('has unique feature flags, including the ones clients read', () => {
    expect(new Set(FEATURE_FLAGS).size).toBe(FEATURE_FLAGS.length);
    expect(FEATURE_FLAGS).toContain('connect_lifecycle');
    expect(FEATURE_FLAGS).toContain('bundle_change_watch');
  });

  it('has the four replacement reasons', () => {
    expect([...SNAPSHOT_REPLACEMENT_REASONS].sort()).toEqual([
      'history_pruned',
      'source_retired',
      'source_sequence_changed',
      'source_sequence_out_of_order',
    ]);
  });
});
