import { describe, expect, it } from 'vitest';
import { compareTableSpecs, type TableSpec } from '../src/index.js';

const users: TableSpec = { schema: 'business', table: 'users', sync_key_columns: ['id'] };
const posts: TableSpec = { schema: 'business', table: 'posts', sync_key_columns: ['id'] };

describe('compareTableSpecs', () => {
  it('matches regardless of order and ignores unknown members', () => {
    expect(compareTableSpecs([users, posts], [{ ...posts, extra: true }, users])).toEqual({
      kind: 'match',
    });
  });

  it('reports every difference at once, sorted', () => {
    const result = compareTableSpecs(
      [users, posts, { schema: 'business', table: 'a_local', sync_key_columns: ['id'] }],
      [
        { schema: 'business', table: 'z_server', sync_key_columns: ['id'] },
        { schema: 'business', table: 'b_server', sync_key_columns: ['id'] },
        { ...users, sync_key_columns: ['user_id'] },
        posts,
      ],
    );
    expect(result).toEqual({
      kind: 'mismatch',
      serverOnlyTables: ['business.b_server', 'business.z_server'],
      clientOnlyTables: ['business.a_local'],
      syncKeyMismatches: [
        {
          qualifiedTable: 'business.users',
          clientSyncKeyColumns: ['id'],
          serverSyncKeyColumns: ['user_id'],
        },
      ],
    });
  });

  it('compares names exactly', () => {
    expect(compareTableSpecs([users], [{ ...users, table: 'Users' }]).kind).toBe('mismatch');
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['an object', { users }],
    ['an entry that is not an object', ['business.users']],
    ['a blank schema', [{ ...users, schema: ' ' }]],
    ['a missing table', [{ schema: 'business', sync_key_columns: ['id'] }]],
    ['two key columns', [{ ...users, sync_key_columns: ['id', 'tenant'] }]],
    ['no key column', [{ ...users, sync_key_columns: [] }]],
    ['a blank key column', [{ ...users, sync_key_columns: [''] }]],
    ['a duplicate', [users, users]],
  ])('is invalid when the advertised list is %s', (_label, advertised) => {
    const result = compareTableSpecs([users], advertised);
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.reason.length > 0).toBe(true);
  });

  it('throws for malformed local specs, a configuration bug', () => {
    expect(() => compareTableSpecs([users, users], [users])).toThrow(TypeError);
  });
});
