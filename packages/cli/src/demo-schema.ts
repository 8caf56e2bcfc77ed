/**
 * The demo business schema served by `oversync dev`: the `business-rich-v0` fixture of the
 * oversqlite contracts mapped to PostgreSQL the way the reference example server does it. Every
 * table carries the hidden scope column `_sync_scope_id`, is keyed by `(_sync_scope_id, id)`, and
 * every foreign key includes the scope and is `DEFERRABLE INITIALLY DEFERRED`.
 */

/** One registered table (structurally `RegisteredTable` of `@oversync/server`). */
export interface DemoTable {
  schema: string;
  table: string;
  syncKeyColumn: string;
}

/** Schema that holds the demo tables. */
export const DEMO_SCHEMA = 'business';

const TABLE_NAMES = [
  'users',
  'posts',
  'categories',
  'teams',
  'team_members',
  'files',
  'file_reviews',
  'typed_rows',
] as const;

/** The eight demo tables, in the order the reference server registers them. */
export const DEMO_TABLES: readonly DemoTable[] = TABLE_NAMES.map((table) => ({
  schema: DEMO_SCHEMA,
  table,
  syncKeyColumn: 'id',
}));

const SCOPED_KEY = `_sync_scope_id TEXT NOT NULL,
  id UUID NOT NULL`;
const PRIMARY_KEY = 'PRIMARY KEY (_sync_scope_id, id)';

function foreignKey(column: string, target: string, onDelete?: 'CASCADE'): string {
  const action = onDelete === undefined ? '' : ` ON DELETE ${onDelete}`;
  return `FOREIGN KEY (_sync_scope_id, ${column}) REFERENCES ${DEMO_SCHEMA}.${target} (_sync_scope_id, id)${action} DEFERRABLE INITIALLY DEFERRED`;
}

/** Adds a constraint unless a constraint of that name already exists on the table. */
function addConstraintOnce(table: string, name: string, definition: string): string {
  return `DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_constraint
    WHERE conname = '${name}' AND conrelid = '${DEMO_SCHEMA}.${table}'::regclass
  ) THEN
    ALTER TABLE ${DEMO_SCHEMA}.${table} ADD CONSTRAINT ${name} ${definition};
  END IF;
END
$$;`;
}

const RICH_TYPED_ROWS = `CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.typed_rows (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  note TEXT NULL,
  count_value BIGINT NULL,
  small_count SMALLINT NULL,
  medium_count INTEGER NULL,
  exact_amount NUMERIC(30, 10) NULL,
  enabled_flag BOOLEAN NOT NULL,
  rating DOUBLE PRECISION NULL,
  float4_value REAL NULL,
  data BYTEA NULL,
  created_at TIMESTAMPTZ NULL,
  ${PRIMARY_KEY}
);
`;

/** go-oversync's example `typed_rows` (reference-tests.md §2.1): BIGINT flag, no int2/int4/numeric/float4. */
const REFERENCE_TYPED_ROWS = `CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.typed_rows (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  note TEXT NULL,
  count_value BIGINT NULL,
  enabled_flag BIGINT NOT NULL,
  rating DOUBLE PRECISION NULL,
  data BYTEA NULL,
  created_at TIMESTAMPTZ NULL,
  ${PRIMARY_KEY}
);
`;

/**
 * Idempotent DDL of the demo schema (safe to run on every start). `teams` and `team_members`
 * reference each other, so their foreign keys are added after both tables exist.
 */
function schemaSql(variant: 'rich' | 'reference'): string {
  const stamp = variant === 'rich' ? 'NOT NULL DEFAULT now()' : 'DEFAULT now()';
  const typedRows = variant === 'rich' ? RICH_TYPED_ROWS : REFERENCE_TYPED_ROWS;
  return `
CREATE SCHEMA IF NOT EXISTS ${DEMO_SCHEMA};

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.users (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TIMESTAMPTZ ${stamp},
  updated_at TIMESTAMPTZ ${stamp},
  ${PRIMARY_KEY}
);

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.posts (
  ${SCOPED_KEY},
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  author_id UUID NULL,
  created_at TIMESTAMPTZ ${stamp},
  updated_at TIMESTAMPTZ ${stamp},
  ${PRIMARY_KEY},
  ${foreignKey('author_id', 'users')}
);

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.categories (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  parent_id UUID NULL,
  ${PRIMARY_KEY},
  ${foreignKey('parent_id', 'categories', 'CASCADE')}
);

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.teams (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  captain_member_id UUID NULL,
  ${PRIMARY_KEY}
);

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.team_members (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  team_id UUID NOT NULL,
  ${PRIMARY_KEY}
);

${addConstraintOnce('teams', 'teams_captain_member_fk', foreignKey('captain_member_id', 'team_members'))}

${addConstraintOnce('team_members', 'team_members_team_fk', foreignKey('team_id', 'teams', 'CASCADE'))}

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.files (
  ${SCOPED_KEY},
  name TEXT NOT NULL,
  data BYTEA NOT NULL,
  ${PRIMARY_KEY}
);

CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.file_reviews (
  ${SCOPED_KEY},
  review TEXT NOT NULL,
  file_id UUID NOT NULL,
  ${PRIMARY_KEY},
  ${foreignKey('file_id', 'files', 'CASCADE')}
);

${typedRows}
`;
}

/**
 * Idempotent DDL of the demo schema (business-rich-v0, served by `oversync dev`).
 *
 * @example
 * ```ts
 * await db.exec(DEMO_SCHEMA_SQL);
 * ```
 */
export const DEMO_SCHEMA_SQL: string = schemaSql('rich');

/**
 * Idempotent DDL of go-oversync's example server schema (`examples/nethttp_server`): the same
 * eight tables with nullable timestamps and the smaller `typed_rows` its Go client expects
 * column for column. Served by `oversync dev --dialect g1`.
 *
 * @example
 * ```ts
 * await db.exec(REFERENCE_SCHEMA_SQL);
 * ```
 */
export const REFERENCE_SCHEMA_SQL: string = schemaSql('reference');
