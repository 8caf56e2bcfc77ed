/**
 * The set-based lookups of the pull apply probe the primary key once per key. Without the pinned
 * join order SQLite may scan the state table once per key, which made a 10,000-row pull take
 * seconds instead of milliseconds; the query plan is the deterministic way to hold that line.
 */

import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { expect, it } from 'vitest';
import { createOversyncClient } from '../src/index.js';
import { DIRTY_FOR_KEYS_SQL, ROW_STATE_FOR_KEYS_SQL } from '../src/pull/apply-bundle.js';
import { offlineRemote } from './support/fake-remote.js';

it('row-state and dirty lookups for a key list are primary-key searches', async () => {
  const driver = createBetterSqlite3Driver({ filename: ':memory:' });
  await driver.exec('CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)');
  const client = createOversyncClient(
    {
      driver,
      baseUrl: 'http://unused.invalid',
      schema: 'main',
      tables: [{ tableName: 'users', syncKeyColumnName: 'id' }],
    },
    { remote: offlineRemote() },
  );
  await client.open();
  // Enough rows that a scan would be the planner's worst choice; no ANALYZE, like a fresh app.
  await driver.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    INSERT INTO _sync_row_state(schema_name, table_name, key_json, row_version, deleted)
    SELECT 'main', 'users', json_object('id', 'k' || i), 1, 0 FROM n`);
  for (const sql of [ROW_STATE_FOR_KEYS_SQL, DIRTY_FOR_KEYS_SQL]) {
    const plan = await driver.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, ['[]', 'main']);
    const details = plan.map((p) => p.detail);
    // The key list is scanned once; the sync table is only ever searched by its primary key.
    expect(
      details.some((d) => /^SCAN j\b/.test(d)),
      details.join(' | '),
    ).toBe(true);
    expect(
      details.some((d) =>
        /^SEARCH (rs|d) USING (COVERING )?INDEX sqlite_autoindex_\w+ \(schema_name=\? AND table_name=\? AND key_json=\?\)/.test(
          d,
        ),
      ),
      details.join(' | '),
    ).toBe(true);
    expect(
      details.some((d) => /^SCAN (rs|d)\b/.test(d)),
      details.join(' | '),
    ).toBe(false);
  }
  await driver.close();
});
