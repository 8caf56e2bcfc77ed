/**
 * The SQLite side of the `business-rich-v0` demo schema, written for these tests (derived from
 * `DEMO_SCHEMA_SQL` of `@oversync/cli` and the rich-schema manifest; nothing is read from the
 * shared contracts directory).
 *
 * Keys: `files` and `file_reviews` use 16-byte BLOB UUIDs (their FK `file_id` too, so it is a
 * UUID reference), every other table uses canonical dashed UUID TEXT. Column kinds follow the
 * client's classification: INTEGER for PostgreSQL integers and booleans (0/1), REAL for
 * `double precision`/`real`, TEXT for `numeric`, timestamps and text, BLOB for `bytea`.
 *
 * @module
 */

/** How a column is compared between SQLite and PostgreSQL (see `compare.ts`). */
export type ColumnKind =
  | 'uuid_text'
  | 'uuid_blob'
  | 'text'
  | 'timestamp'
  | 'int'
  | 'numeric'
  | 'bool'
  | 'real'
  | 'blob';

/** One column of a demo table. */
export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

/** One demo table: name and columns in declaration order (the key `id` first). */
export interface TableSpec {
  readonly name: DemoTableName;
  readonly columns: readonly ColumnSpec[];
}

/** The eight demo tables. */
export type DemoTableName =
  | 'users'
  | 'posts'
  | 'categories'
  | 'teams'
  | 'team_members'
  | 'files'
  | 'file_reviews'
  | 'typed_rows';

const c = (name: string, kind: ColumnKind): ColumnSpec => ({ name, kind });

/** Column specs of every demo table (the same columns as the server tables minus the scope). */
export const TABLE_SPECS: readonly TableSpec[] = [
  {
    name: 'users',
    columns: [
      c('id', 'uuid_text'),
      c('name', 'text'),
      c('email', 'text'),
      c('created_at', 'timestamp'),
      c('updated_at', 'timestamp'),
    ],
  },
  {
    name: 'posts',
    columns: [
      c('id', 'uuid_text'),
      c('title', 'text'),
      c('content', 'text'),
      c('author_id', 'uuid_text'),
      c('created_at', 'timestamp'),
      c('updated_at', 'timestamp'),
    ],
  },
  {
    name: 'categories',
    columns: [c('id', 'uuid_text'), c('name', 'text'), c('parent_id', 'uuid_text')],
  },
  {
    name: 'teams',
    columns: [c('id', 'uuid_text'), c('name', 'text'), c('captain_member_id', 'uuid_text')],
  },
  {
    name: 'team_members',
    columns: [c('id', 'uuid_text'), c('name', 'text'), c('team_id', 'uuid_text')],
  },
  {
    name: 'files',
    columns: [c('id', 'uuid_blob'), c('name', 'text'), c('data', 'blob')],
  },
  {
    name: 'file_reviews',
    columns: [c('id', 'uuid_blob'), c('review', 'text'), c('file_id', 'uuid_blob')],
  },
  {
    name: 'typed_rows',
    columns: [
      c('id', 'uuid_text'),
      c('name', 'text'),
      c('note', 'text'),
      c('count_value', 'int'),
      c('small_count', 'int'),
      c('medium_count', 'int'),
      c('exact_amount', 'numeric'),
      c('enabled_flag', 'bool'),
      c('rating', 'real'),
      c('float4_value', 'real'),
      c('data', 'blob'),
      c('created_at', 'timestamp'),
    ],
  },
];

/** Table names in the order the server registers them. */
export const TABLE_NAMES: readonly DemoTableName[] = TABLE_SPECS.map((t) => t.name);

/** Looks a table spec up by name. */
export function tableSpec(name: DemoTableName): TableSpec {
  const spec = TABLE_SPECS.find((t) => t.name === name);
  if (!spec) throw new Error(`unknown demo table ${name}`);
  return spec;
}

const NOW = `(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/**
 * SQLite DDL of the eight demo tables. Idempotent. Foreign keys are deferrable like the server's,
 * and `teams` ↔ `team_members` form a cycle.
 */
export const LOCAL_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS users (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW}
);
CREATE TABLE IF NOT EXISTS posts (
  id TEXT NOT NULL PRIMARY KEY,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  author_id TEXT NULL REFERENCES users(id) DEFERRABLE INITIALLY DEFERRED,
  created_at TEXT NOT NULL DEFAULT ${NOW},
  updated_at TEXT NOT NULL DEFAULT ${NOW}
);
CREATE TABLE IF NOT EXISTS categories (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  parent_id TEXT NULL REFERENCES categories(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS teams (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  captain_member_id TEXT NULL REFERENCES team_members(id) DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS team_members (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS files (
  id BLOB NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS file_reviews (
  id BLOB NOT NULL PRIMARY KEY,
  review TEXT NOT NULL,
  file_id BLOB NOT NULL REFERENCES files(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE IF NOT EXISTS typed_rows (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  note TEXT NULL,
  count_value INTEGER NULL,
  small_count INTEGER NULL,
  medium_count INTEGER NULL,
  exact_amount TEXT NULL,
  enabled_flag INTEGER NOT NULL,
  rating REAL NULL,
  float4_value REAL NULL,
  data BLOB NULL,
  created_at TEXT NULL
);
`;

/** Sync schema name the server registers the demo tables under. */
export const SYNC_SCHEMA = 'business';

/** The client's `tables` option for the demo schema. */
export const SYNC_TABLES = TABLE_NAMES.map((tableName) => ({
  tableName,
  syncKeyColumnName: 'id',
}));
