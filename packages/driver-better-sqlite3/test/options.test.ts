/** Connection options of the better-sqlite3 driver that the conformance suite does not cover. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createBetterSqlite3Driver } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'oversync-driver-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('file databases use WAL with synchronous=NORMAL by default, FULL on request', async () => {
  const normal = createBetterSqlite3Driver({ filename: join(dir, 'normal.db') });
  const full = createBetterSqlite3Driver({ filename: join(dir, 'full.db'), synchronous: 'full' });
  try {
    expect(await normal.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(await normal.get('PRAGMA synchronous')).toEqual({ synchronous: 1 });
    expect(await full.get('PRAGMA synchronous')).toEqual({ synchronous: 2 });
    expect(await full.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
  } finally {
    await normal.close();
    await full.close();
  }
});

it('the worker mode applies the same connection options', async () => {
  const w = createBetterSqlite3Driver({
    filename: join(dir, 'worker.db'),
    worker: true,
    synchronous: 'full',
  });
  try {
    expect(await w.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    expect(await w.get('PRAGMA synchronous')).toEqual({ synchronous: 2 });
  } finally {
    await w.close();
  }
});
