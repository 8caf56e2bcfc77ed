/**
 * BENCH_FLOOR=1: a measured lower bound for the push path's database cost, NOT the server.
 *
 * The same three protocol steps per bundle (create session, upload one chunk, commit) and
 * the same durable effects as the server's commit (business rows through the real guard
 * and capture triggers, sync.bundle_log, sync.bundle_rows, sync.row_state, source and
 * user state, bundle hash computed over the canonical payload text), but with the
 * structure recommended in docs/benchmarks.md:
 *
 * - one round trip per request (a function call in its own implicit transaction),
 * - the chunk staged as one row (a jsonb array) instead of one row per pushed row,
 * - conflict check probing sync.row_state by its full primary key,
 * - captured rows moved into bundle_rows/row_state inside PostgreSQL, never via Node.
 *
 * Only INSERT bundles with distinct keys are handled (what the benchmark pushes); the
 * real thing also needs UPDATE/DELETE application and per-row normalisation.
 */
import type pg from 'pg';
import { SCHEMA, TABLE } from './workload.js';

export const FLOOR_SQL = `
CREATE TABLE ${SCHEMA}.floor_sessions (
  push_id uuid PRIMARY KEY,
  user_pk bigint NOT NULL,
  source_id text NOT NULL,
  source_bundle_id bigint NOT NULL,
  planned integer NOT NULL,
  request_hash text NOT NULL,
  rows jsonb,
  hash_input text
);

CREATE FUNCTION ${SCHEMA}.floor_create(p_push uuid, p_user text, p_source text, p_sbid bigint, p_planned int, p_hash text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE u record; m bigint;
BEGIN
  SELECT user_pk, scope_state INTO u FROM sync.user_state WHERE user_id = p_user FOR UPDATE;
  IF u.scope_state <> 2 THEN RAISE EXCEPTION 'scope not initialized'; END IF;
  PERFORM 1 FROM sync.bundle_log WHERE user_pk = u.user_pk AND source_id = p_source AND source_bundle_id = p_sbid;
  IF FOUND THEN RAISE EXCEPTION 'already committed'; END IF;
  SELECT max_committed_source_bundle_id INTO m FROM sync.source_state
   WHERE user_pk = u.user_pk AND source_id = p_source FOR UPDATE;
  IF coalesce(m, 0) + 1 <> p_sbid THEN RAISE EXCEPTION 'source sequence'; END IF;
  INSERT INTO ${SCHEMA}.floor_sessions (push_id, user_pk, source_id, source_bundle_id, planned, request_hash)
  VALUES (p_push, u.user_pk, p_source, p_sbid, p_planned, p_hash);
END
$fn$;

CREATE FUNCTION ${SCHEMA}.floor_chunk(p_push uuid, p_user text, p_rows text, p_hash_input text)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM 1 FROM sync.user_state WHERE user_id = p_user FOR UPDATE;
  UPDATE ${SCHEMA}.floor_sessions SET rows = p_rows::jsonb, hash_input = p_hash_input WHERE push_id = p_push;
  IF NOT FOUND THEN RAISE EXCEPTION 'no session'; END IF;
END
$fn$;

CREATE FUNCTION ${SCHEMA}.floor_commit(p_push uuid, p_user text)
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE u record; s record; v_hash text;
BEGIN
  SELECT user_pk, next_bundle_seq INTO u FROM sync.user_state WHERE user_id = p_user FOR UPDATE;
  SELECT * INTO s FROM ${SCHEMA}.floor_sessions WHERE push_id = p_push AND user_pk = u.user_pk FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no session'; END IF;
  IF encode(sha256(convert_to(s.hash_input, 'UTF8')), 'hex') <> s.request_hash THEN
    RAISE EXCEPTION 'request hash mismatch';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_to_recordset(s.rows) AS r(id uuid)
               CROSS JOIN LATERAL (SELECT 1 FROM sync.row_state x
                 WHERE x.user_pk = u.user_pk AND x.table_id = 1 AND x.key = r.id::text LIMIT 1) x) THEN
    RAISE EXCEPTION 'push conflict';
  END IF;
  PERFORM set_config('oversync.user_id', p_user, true), set_config('oversync.user_pk', u.user_pk::text, true);
  INSERT INTO ${SCHEMA}.${TABLE} (_sync_scope_id, id, title, body, qty, price, done, updated_at)
  SELECT p_user, r.id, r.title, r.body, r.qty, r.price, r.done, r.updated_at
    FROM jsonb_populate_recordset(NULL::${SCHEMA}.${TABLE}, s.rows) AS r;
  WITH c AS (
    DELETE FROM sync.capture WHERE txid = pg_current_xact_id() RETURNING ord, table_id, op, key, payload
  ), o AS (
    SELECT (row_number() OVER (ORDER BY ord) - 1)::int AS i, table_id, op, key, payload FROM c
  ), h AS (
    SELECT count(*) AS n, coalesce(sum(octet_length(payload)), 0) AS bytes,
           encode(sha256(convert_to('[' || string_agg(
             '{"key":{"id":' || to_json(key)::text || '},"op":"INSERT","payload":' || payload
             || ',"row_ordinal":"' || i || '","row_version":"' || u.next_bundle_seq
             || '","schema":"${SCHEMA}","table":"${TABLE}"}', ',' ORDER BY i) || ']', 'UTF8')), 'hex') AS hash
      FROM o
  ), bl AS (
    INSERT INTO sync.bundle_log (user_pk, bundle_seq, source_id, source_bundle_id, row_count, byte_count, bundle_hash, request_hash)
    SELECT u.user_pk, u.next_bundle_seq, s.source_id, s.source_bundle_id, h.n, h.bytes, h.hash, s.request_hash FROM h
    RETURNING bundle_seq
  ), br AS (
    INSERT INTO sync.bundle_rows (user_pk, bundle_seq, row_ordinal, table_id, op, key, payload)
    SELECT u.user_pk, u.next_bundle_seq, o.i, o.table_id, o.op, o.key, o.payload FROM o, bl
  ), rs AS (
    INSERT INTO sync.row_state (user_pk, table_id, key, bundle_seq, deleted)
    SELECT u.user_pk, o.table_id, o.key, u.next_bundle_seq, o.op = 3 FROM o, bl
    ON CONFLICT (user_pk, table_id, key) DO UPDATE SET bundle_seq = EXCLUDED.bundle_seq, deleted = EXCLUDED.deleted
  ), ss AS (
    INSERT INTO sync.source_state (user_pk, source_id, state, max_committed_source_bundle_id)
    SELECT u.user_pk, s.source_id, 'active', s.source_bundle_id FROM bl
    ON CONFLICT (user_pk, source_id) DO UPDATE
      SET state = 'active', max_committed_source_bundle_id = EXCLUDED.max_committed_source_bundle_id
  )
  SELECT h.hash INTO v_hash FROM h;
  UPDATE sync.user_state SET next_bundle_seq = next_bundle_seq + 1 WHERE user_pk = u.user_pk;
  DELETE FROM ${SCHEMA}.floor_sessions WHERE push_id = p_push;
  PERFORM set_config('oversync.user_id', '', true), set_config('oversync.user_pk', '', true);
  RETURN v_hash;
END
$fn$;
`;

/** One bundle as the floor's client sends it. */
export interface FloorBundle {
  sourceBundleId: number;
  rows: readonly unknown[];
  requestHash: string;
  payloadsJson: string;
  hashInput: string;
}

/** create → chunk → commit for each bundle of one user, one statement per request. */
export async function floorPushAll(
  pool: pg.Pool,
  user: string,
  bundles: readonly FloorBundle[],
  randomUUID: () => string,
  latencies: number[],
): Promise<void> {
  const source = `${user}-device`;
  for (const b of bundles) {
    const t0 = performance.now();
    const pushId = randomUUID();
    await pool.query(`SELECT ${SCHEMA}.floor_create($1::uuid, $2, $3, $4::int8, $5::int4, $6)`, [
      pushId,
      user,
      source,
      b.sourceBundleId,
      b.rows.length,
      b.requestHash,
    ]);
    await pool.query(`SELECT ${SCHEMA}.floor_chunk($1::uuid, $2, $3, $4)`, [
      pushId,
      user,
      b.payloadsJson,
      b.hashInput,
    ]);
    await pool.query(`SELECT ${SCHEMA}.floor_commit($1::uuid, $2)`, [pushId, user]);
    latencies.push(performance.now() - t0);
  }
}
