/**
 * Local databases of the oversqlite behaviour fixtures (push, pull/snapshot, invalidation,
 * watch): the app schemas the fixtures name, the way fixture SQL is executed, and readers /
 * assertions for the durable `_sync_*` state and the app tables, in the fixtures' vocabulary.
 *
 * The schemas are the ones the SQLiteNow runners open (`behavior_fixture_support.dart`
 * `openBehaviorDatabase`). Unknown schema names and unknown expectation keys throw, so a fixture
 * that grows a new field fails loudly instead of being half-checked.
 *
 * @module
 */

import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import { expect } from 'vitest';
import type { SqliteDriver, SqlValue, SyncTableConfig } from '../../src/index.js';

/** App schema SQL by fixture schema name. */
export const FIXTURE_SCHEMAS: Readonly<Record<string, readonly string[]>> = {
  users: ['CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)'],
  'users-posts': [
    'CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL)',
    `CREATE TABLE posts (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  title TEXT NOT NULL
)`,
  ],
  // Immediate (not DEFERRABLE) foreign keys in both directions: only the runtime's
  // `PRAGMA defer_foreign_keys` lets one transaction insert the pair.
  'immediate-authors-profiles-cycle': [
    `CREATE TABLE authors (
  id TEXT PRIMARY KEY NOT NULL,
  profile_id TEXT NOT NULL REFERENCES profiles(id),
  name TEXT NOT NULL
)`,
    `CREATE TABLE profiles (
  id TEXT PRIMARY KEY NOT NULL,
  author_id TEXT NOT NULL REFERENCES authors(id),
  bio TEXT NOT NULL
)`,
  ],
  'typed-rows': [
    `CREATE TABLE typed_rows (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  note TEXT NULL,
  count_value INTEGER NULL,
  enabled_flag INTEGER NOT NULL,
  rating REAL NULL,
  data BLOB NULL,
  created_at TEXT NULL
)`,
  ],
};

/** The sync tables a case declares, or `users(id)` (the SQLiteNow runners' default). */
export function fixtureSyncTables(
  declared: readonly SyncTableConfig[] | undefined,
): readonly SyncTableConfig[] {
  return declared && declared.length > 0
    ? declared.map((t) => ({ tableName: t.tableName, syncKeyColumnName: t.syncKeyColumnName }))
    : [{ tableName: 'users', syncKeyColumnName: 'id' }];
}

/** Opens an in-memory database (foreign keys ON, as the driver always sets) with the named schema. */
export async function openFixtureDb(schemaName = 'users'): Promise<SqliteDriver> {
  const statements = FIXTURE_SCHEMAS[schemaName];
  if (!statements) throw new Error(`unknown behaviour fixture schema "${schemaName}"`);
  const driver = createBetterSqlite3Driver({ filename: ':memory:' });
  for (const sql of statements) await driver.exec(sql);
  return driver;
}

/**
 * Runs fixture `localSetupSql` / `setupSql` / `localSql` statements as an app would: one
 * transaction with deferred foreign keys, capture triggers active (apply mode as the statements
 * themselves set it).
 */
export async function runFixtureSql(
  db: SqliteDriver,
  statements: readonly string[] | undefined,
): Promise<void> {
  if (!statements || statements.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    for (const sql of statements) await tx.run(sql);
  });
}

/** Runs statements with capture suppressed (`apply_mode = 1`), as the runners' `applyModeSql`. */
export async function runApplyModeSql(
  db: SqliteDriver,
  statements: readonly string[] | undefined,
): Promise<void> {
  if (!statements || statements.length === 0) return;
  await db.transaction(async (tx) => {
    await tx.run('PRAGMA defer_foreign_keys = ON');
    await tx.run('UPDATE _sync_apply_state SET apply_mode = 1 WHERE singleton_key = 1');
    try {
      for (const sql of statements) await tx.run(sql);
    } finally {
      await tx.run('UPDATE _sync_apply_state SET apply_mode = 0 WHERE singleton_key = 1');
    }
  });
}

async function scalar(db: SqliteDriver, sql: string, params: SqlValue[] = []): Promise<SqlValue> {
  const row = await db.get(sql, params);
  if (!row) throw new Error(`no row for ${sql}`);
  const values = Object.values(row);
  if (values.length !== 1) throw new Error(`expected one column from ${sql}`);
  return values[0] as SqlValue;
}

const int = async (db: SqliteDriver, sql: string, params: SqlValue[] = []): Promise<number> =>
  Number(await scalar(db, sql, params));
const text = async (db: SqliteDriver, sql: string, params: SqlValue[] = []): Promise<string> =>
  String(await scalar(db, sql, params));

/** The writer source of the attachment row. */
export function currentSourceId(db: SqliteDriver): Promise<string> {
  return text(db, 'SELECT current_source_id FROM _sync_attachment_state WHERE singleton_key = 1');
}

/** Context for the relative expectations (`…FromStepStart`, `oldSourceReplacedByCurrent`). */
export interface StateContext {
  /** `current_source_id` read right before the step's action (after its setup SQL). */
  readonly sourceBeforeStep?: string;
}

type StateReader = (db: SqliteDriver, ctx: StateContext) => Promise<number | string | boolean>;

/** Every durable-state expectation key the fixtures use, and how it is read. */
const STATE_READERS: Readonly<Record<string, StateReader>> = {
  lastBundleSeqSeen: (db) =>
    int(db, 'SELECT last_bundle_seq_seen FROM _sync_attachment_state WHERE singleton_key = 1'),
  rebuildRequired: (db) =>
    int(db, 'SELECT rebuild_required FROM _sync_attachment_state WHERE singleton_key = 1'),
  outboxState: (db) => text(db, 'SELECT state FROM _sync_outbox_bundle WHERE singleton_key = 1'),
  outboxRowCount: (db) => int(db, 'SELECT COUNT(*) AS n FROM _sync_outbox_rows'),
  dirtyRowCount: (db) => int(db, 'SELECT COUNT(*) AS n FROM _sync_dirty_rows'),
  rowStateCount: (db) => int(db, 'SELECT COUNT(*) AS n FROM _sync_row_state'),
  snapshotStageCount: (db) => int(db, 'SELECT COUNT(*) AS n FROM _sync_snapshot_stage'),
  applyMode: (db) => int(db, 'SELECT apply_mode FROM _sync_apply_state WHERE singleton_key = 1'),
  // The counter of the attached source (the SQLiteNow runners read the single source row).
  nextSourceBundleId: (db) =>
    int(
      db,
      `SELECT next_source_bundle_id FROM _sync_source_state
       WHERE source_id = (SELECT current_source_id FROM _sync_attachment_state WHERE singleton_key = 1)`,
    ),
  currentSourceChangedFromStepStart: async (db, ctx) =>
    (await currentSourceId(db)) !== requireSourceBefore(ctx),
  oldSourceReplacedByCurrent: async (db, ctx) => {
    const before = requireSourceBefore(ctx);
    const current = await currentSourceId(db);
    const row = await db.get(
      'SELECT replaced_by_source_id FROM _sync_source_state WHERE source_id = ?',
      [before],
    );
    return current !== before && row !== undefined && String(row.replaced_by_source_id) === current;
  },
};

function requireSourceBefore(ctx: StateContext): string {
  if (ctx.sourceBeforeStep === undefined)
    throw new Error('this expectation needs the source id at step start');
  return ctx.sourceBeforeStep;
}

/** Booleans in the fixtures stand for SQLite 0/1 where the column is an integer flag. */
function normalizeExpected(key: string, value: unknown): unknown {
  if ((key === 'rebuildRequired' || key === 'applyMode') && typeof value === 'boolean')
    return value ? 1 : 0;
  return value;
}

/** Reads the expectation keys of `expected` from the database, in the same shape. */
export async function readSyncState(
  db: SqliteDriver,
  keys: readonly string[],
  ctx: StateContext = {},
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const reader = STATE_READERS[key];
    if (!reader) throw new Error(`unsupported expectedState key "${key}"`);
    out[key] = await reader(db, ctx);
  }
  return out;
}

/** Asserts a fixture `expectedState` object (every key; unknown keys throw). */
export async function expectSyncState(
  db: SqliteDriver,
  expected: Readonly<Record<string, unknown>>,
  ctx: StateContext = {},
  label = 'expectedState',
): Promise<void> {
  const keys = Object.keys(expected);
  const actual = await readSyncState(db, keys, ctx);
  const want: Record<string, unknown> = {};
  for (const key of keys) want[key] = normalizeExpected(key, expected[key]);
  expect(actual, label).toEqual(want);
}

/** App tables the fixtures' `expectedAppState` may name: fixture key → table and columns. */
const APP_TABLES: Readonly<Record<string, { table: string; columns: readonly string[] }>> = {
  users: { table: 'users', columns: ['id', 'name'] },
  posts: { table: 'posts', columns: ['id', 'user_id', 'title'] },
  authors: { table: 'authors', columns: ['id', 'profile_id', 'name'] },
  profiles: { table: 'profiles', columns: ['id', 'author_id', 'bio'] },
  typedRows: {
    table: 'typed_rows',
    columns: ['id', 'name', 'note', 'count_value', 'enabled_flag', 'rating', 'data', 'created_at'],
  },
};

function plain(value: SqlValue): unknown {
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Rows of an app table as the fixtures spell them (ordered by `id`; BLOBs as hex). */
export async function readAppTable(
  db: SqliteDriver,
  fixtureKey: string,
): Promise<Record<string, unknown>[]> {
  const spec = APP_TABLES[fixtureKey];
  if (!spec) throw new Error(`unsupported expectedAppState table "${fixtureKey}"`);
  const rows = await db.all(
    `SELECT ${spec.columns.map((c) => `"${c}"`).join(', ')} FROM "${spec.table}" ORDER BY id`,
  );
  return rows.map((r) => {
    const out: Record<string, unknown> = {};
    for (const c of spec.columns) out[c] = plain(r[c] as SqlValue);
    return out;
  });
}

/** Asserts a fixture `expectedAppState` object (`{ users: [...], typedRows: [...] }`). */
export async function expectAppState(
  db: SqliteDriver,
  expected: Readonly<Record<string, unknown>>,
  label = 'expectedAppState',
): Promise<void> {
  const actual: Record<string, unknown> = {};
  for (const key of Object.keys(expected)) actual[key] = await readAppTable(db, key);
  expect(actual, label).toEqual(expected);
}
