/**
 * DDL of the `sync` schema (layout version {@link SYNC_LAYOUT_VERSION}).
 *
 * Every statement is idempotent so several processes may boot at once (they also
 * serialise on an advisory lock). Functions are always replaced so an upgraded library
 * reaches existing databases.
 *
 * @module
 */

/** Name of the layout written to `sync.meta`. */
export const SYNC_LAYOUT_NAME = 'oversync_ts_postgres';
/** Bumped whenever the DDL below changes incompatibly. */
export const SYNC_LAYOUT_VERSION = 2;

/**
 * Tables, indexes and sequences. Run only when the database's layout is missing or older
 * (table DDL takes table locks, which a routine boot must not take on a live system).
 */
export const SYNC_TABLES_SQL = `
CREATE SCHEMA IF NOT EXISTS sync;

CREATE TABLE IF NOT EXISTS sync.meta (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  layout_name text NOT NULL,
  layout_version integer NOT NULL,
  protocol_label text NOT NULL DEFAULT 'v1'
);

CREATE TABLE IF NOT EXISTS sync.table_catalog (
  table_id integer PRIMARY KEY,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  sync_key_column text NOT NULL,
  sync_key_kind text NOT NULL CHECK (sync_key_kind IN ('uuid', 'text')),
  active boolean NOT NULL DEFAULT true,
  registered_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (schema_name, table_name)
);

CREATE TABLE IF NOT EXISTS sync.user_state (
  user_pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL UNIQUE,
  next_bundle_seq bigint NOT NULL DEFAULT 1 CHECK (next_bundle_seq >= 1),
  retained_bundle_floor bigint NOT NULL DEFAULT 0,
  scope_state smallint NOT NULL DEFAULT 0 CHECK (scope_state IN (0, 1, 2)),
  initializer_source_id text,
  initialization_id uuid,
  lease_expires_at timestamptz,
  initialized_at timestamptz,
  initialized_by_source_id text,
  CHECK (retained_bundle_floor >= 0 AND retained_bundle_floor <= next_bundle_seq - 1),
  CHECK (
    (scope_state = 0 AND initializer_source_id IS NULL AND initialization_id IS NULL AND lease_expires_at IS NULL)
    OR (scope_state = 1 AND initializer_source_id IS NOT NULL AND initialization_id IS NOT NULL AND lease_expires_at IS NOT NULL)
    OR (scope_state = 2 AND initializer_source_id IS NULL AND initialization_id IS NULL AND lease_expires_at IS NULL)
  )
);

CREATE TABLE IF NOT EXISTS sync.source_state (
  user_pk bigint NOT NULL REFERENCES sync.user_state (user_pk) ON DELETE CASCADE,
  source_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'reserved', 'retired')),
  max_committed_source_bundle_id bigint NOT NULL DEFAULT 0 CHECK (max_committed_source_bundle_id >= 0),
  replaced_by_source_id text,
  retirement_reason text,
  PRIMARY KEY (user_pk, source_id),
  CHECK ((state = 'retired') = (replaced_by_source_id IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS sync.row_state (
  user_pk bigint NOT NULL,
  table_id integer NOT NULL,
  key text NOT NULL,
  bundle_seq bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  PRIMARY KEY (user_pk, table_id, key)
);

CREATE UNLOGGED TABLE IF NOT EXISTS sync.capture (
  ord bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  txid xid8 NOT NULL,
  table_id integer NOT NULL,
  op smallint NOT NULL CHECK (op IN (1, 2, 3)),
  key text NOT NULL,
  payload text
);
CREATE INDEX IF NOT EXISTS capture_txid_idx ON sync.capture (txid);

CREATE TABLE IF NOT EXISTS sync.bundle_log (
  user_pk bigint NOT NULL REFERENCES sync.user_state (user_pk) ON DELETE CASCADE,
  bundle_seq bigint NOT NULL,
  source_id text NOT NULL,
  source_bundle_id bigint NOT NULL,
  row_count bigint NOT NULL,
  byte_count bigint NOT NULL,
  bundle_hash text NOT NULL,
  request_hash text,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_pk, bundle_seq),
  UNIQUE (user_pk, source_id, source_bundle_id)
);

CREATE TABLE IF NOT EXISTS sync.bundle_rows (
  user_pk bigint NOT NULL,
  bundle_seq bigint NOT NULL,
  row_ordinal integer NOT NULL,
  table_id integer NOT NULL,
  op smallint NOT NULL CHECK (op IN (1, 2, 3)),
  key text NOT NULL,
  payload text,
  PRIMARY KEY (user_pk, bundle_seq, row_ordinal),
  FOREIGN KEY (user_pk, bundle_seq) REFERENCES sync.bundle_log (user_pk, bundle_seq) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS sync.push_sessions (
  push_id uuid PRIMARY KEY,
  user_pk bigint NOT NULL REFERENCES sync.user_state (user_pk) ON DELETE CASCADE,
  source_id text NOT NULL,
  source_bundle_id bigint NOT NULL,
  planned_row_count bigint NOT NULL CHECK (planned_row_count > 0),
  next_expected_row_ordinal bigint NOT NULL DEFAULT 0,
  request_hash text NOT NULL,
  staged_bytes bigint NOT NULL DEFAULT 0,
  initialization_id uuid,
  expires_at timestamptz NOT NULL,
  UNIQUE (user_pk, source_id, source_bundle_id),
  CHECK (next_expected_row_ordinal >= 0 AND next_expected_row_ordinal <= planned_row_count)
);
CREATE INDEX IF NOT EXISTS push_sessions_expires_idx ON sync.push_sessions (expires_at);
-- Upgrade from layout v1 (before the column existed).
ALTER TABLE sync.push_sessions ADD COLUMN IF NOT EXISTS staged_bytes bigint NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS sync.push_session_rows (
  push_id uuid NOT NULL REFERENCES sync.push_sessions (push_id) ON DELETE CASCADE,
  row_ordinal bigint NOT NULL,
  table_id integer NOT NULL,
  key text NOT NULL,
  op smallint NOT NULL CHECK (op IN (1, 2, 3)),
  base_row_version bigint NOT NULL,
  colset text NOT NULL,
  apply_payload jsonb,
  hash_item text NOT NULL,
  PRIMARY KEY (push_id, row_ordinal),
  UNIQUE (push_id, table_id, key)
);

CREATE TABLE IF NOT EXISTS sync.snapshot_sessions (
  snapshot_id uuid PRIMARY KEY,
  user_pk bigint NOT NULL REFERENCES sync.user_state (user_pk) ON DELETE CASCADE,
  snapshot_bundle_seq bigint NOT NULL,
  row_count bigint NOT NULL,
  byte_count bigint NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_sessions_expires_idx ON sync.snapshot_sessions (expires_at);

CREATE UNLOGGED TABLE IF NOT EXISTS sync.snapshot_rows (
  snapshot_id uuid NOT NULL REFERENCES sync.snapshot_sessions (snapshot_id) ON DELETE CASCADE,
  row_ordinal bigint NOT NULL,
  byte_len integer NOT NULL,
  row_json text NOT NULL,
  PRIMARY KEY (snapshot_id, row_ordinal)
);

CREATE SEQUENCE IF NOT EXISTS sync.rejected_write_seq;
CREATE SEQUENCE IF NOT EXISTS sync.history_pruned_error_seq;
CREATE SEQUENCE IF NOT EXISTS sync.accepted_push_replay_seq;
`;

/**
 * Function definitions of the `sync` schema. Replaced on every boot (no table locks), so a
 * library upgrade reaches existing databases.
 */
export const SYNC_FUNCTIONS_SQL = `
-- ECMAScript Number::toString of a float8, so REAL values render exactly like the clients do.
CREATE OR REPLACE FUNCTION sync.js_number_text(v double precision) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET extra_float_digits = 1 AS $fn$
DECLARE
  t text; neg boolean := false; mant text; ex integer := 0; ip text; fp text;
  digits text; n integer; k integer; p integer; e integer; cand numeric; ct text;
BEGIN
  IF v = 0 THEN RETURN '0'; END IF;
  IF v = 'NaN'::float8 THEN RETURN 'NaN'; END IF;
  IF v = 'Infinity'::float8 THEN RETURN 'Infinity'; END IF;
  IF v = '-Infinity'::float8 THEN RETURN '-Infinity'; END IF;
  t := v::text;
  IF left(t, 1) = '-' THEN neg := true; t := substr(t, 2); END IF;
  p := position('e' IN t);
  IF p > 0 THEN mant := left(t, p - 1); ex := substr(t, p + 1)::integer; ELSE mant := t; END IF;
  p := position('.' IN mant);
  IF p > 0 THEN ip := left(mant, p - 1); fp := substr(mant, p + 1); ELSE ip := mant; fp := ''; END IF;
  digits := ip || fp;
  n := length(ip) + ex;
  WHILE length(digits) > 1 AND left(digits, 1) = '0' LOOP
    digits := substr(digits, 2); n := n - 1;
  END LOOP;
  digits := rtrim(digits, '0');
  k := length(digits);
  -- PostgreSQL prints large integral doubles with their exact digits rather
  -- than the shortest digits that round-trip; shorten those to what ECMAScript prints.
  -- (Observed up to about 2^72; the bound keeps every candidate far from overflow.)
  IF k >= 16 AND abs(v) < 1e25 AND v = trunc(v) THEN
    FOR l IN 1 .. k - 1 LOOP
      cand := round(digits::numeric / (10::numeric ^ (k - l)));
      ct := cand::text;
      IF (ct || 'e' || (n - l))::float8 = abs(v) THEN
        n := length(ct) + n - l;
        digits := rtrim(ct, '0');
        k := length(digits);
        EXIT;
      END IF;
    END LOOP;
  END IF;
  IF k <= n AND n <= 21 THEN
    t := digits || repeat('0', n - k);
  ELSIF 0 < n AND n <= 21 THEN
    t := left(digits, n) || '.' || substr(digits, n + 1);
  ELSIF -6 < n AND n <= 0 THEN
    t := '0.' || repeat('0', -n) || digits;
  ELSE
    e := n - 1;
    t := left(digits, 1) || CASE WHEN k > 1 THEN '.' || substr(digits, 2) ELSE '' END
      || 'e' || CASE WHEN e >= 0 THEN '+' ELSE '-' END || abs(e)::text;
  END IF;
  IF neg THEN t := '-' || t; END IF;
  RETURN t;
END
$fn$;

-- BEFORE row trigger on every registered table: a write needs a bundle context and may
-- only touch the context user's rows.
CREATE OR REPLACE FUNCTION sync.guard_registered_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE u text := current_setting('oversync.user_id', true);
BEGIN
  IF u IS NULL OR u = '' THEN
    PERFORM nextval('sync.rejected_write_seq');
    RAISE EXCEPTION 'oversync: write to registered table %.% requires a sync bundle context',
      TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'OVS01';
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW._sync_scope_id IS NULL OR NEW._sync_scope_id = '' THEN
      NEW._sync_scope_id := u;
    ELSIF NEW._sync_scope_id <> u THEN
      RAISE EXCEPTION 'oversync: scope mismatch on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'OVS02';
    END IF;
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    IF OLD._sync_scope_id IS DISTINCT FROM u OR NEW._sync_scope_id IS DISTINCT FROM OLD._sync_scope_id THEN
      RAISE EXCEPTION 'oversync: scope mismatch on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'OVS02';
    END IF;
    RETURN NEW;
  END IF;
  IF OLD._sync_scope_id IS DISTINCT FROM u THEN
    RAISE EXCEPTION 'oversync: scope mismatch on %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'OVS02';
  END IF;
  RETURN OLD;
END
$fn$;

-- TRUNCATE would bypass capture and break row_state; refuse it unless explicitly allowed.
CREATE OR REPLACE FUNCTION sync.forbid_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF current_setting('oversync.allow_truncate', true) = 'on' THEN RETURN NULL; END IF;
  RAISE EXCEPTION 'oversync: TRUNCATE of registered table %.% is not allowed', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'OVS03';
END
$fn$;
`;

/** Both parts, for tools that need the whole schema at once. */
export const SYNC_SCHEMA_SQL = `${SYNC_TABLES_SQL}\n${SYNC_FUNCTIONS_SQL}`;
