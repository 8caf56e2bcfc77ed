import type { Queryable } from '../db/sync-database.js';

/** Scope (first-connect authority) states. */
export const SCOPE_UNINITIALIZED = 0;
export const SCOPE_INITIALIZING = 1;
export const SCOPE_INITIALIZED = 2;

/** The per-user row: sequence counter, retained floor and scope state. */
export interface UserState {
  userPk: string;
  nextBundleSeq: string;
  retainedFloor: string;
  scopeState: 0 | 1 | 2;
  initializerSourceId: string | null;
  initializationId: string | null;
  leaseExpiresAt: Date | null;
}

/** The columns `readUser` selects (also embedded by statements that read the user inline). */
export const USER_COLUMNS = `user_pk::text AS user_pk, next_bundle_seq::text AS next_bundle_seq,
  retained_bundle_floor::text AS floor, scope_state, initializer_source_id,
  initialization_id::text AS initialization_id, lease_expires_at`;

interface Row {
  user_pk: string;
  next_bundle_seq: string;
  floor: string;
  scope_state: number;
  initializer_source_id: string | null;
  initialization_id: string | null;
  lease_expires_at: Date | string | null;
}

function toState(r: Row): UserState {
  return {
    userPk: r.user_pk,
    nextBundleSeq: r.next_bundle_seq,
    retainedFloor: r.floor,
    scopeState: r.scope_state as 0 | 1 | 2,
    initializerSourceId: r.initializer_source_id,
    initializationId: r.initialization_id,
    leaseExpiresAt: r.lease_expires_at === null ? null : new Date(r.lease_expires_at),
  };
}

/**
 * A user state from a row read in a statement of its own (columns as `readUser` selects
 * them); a lapsed lease reads as UNINITIALIZED.
 */
export function userStateFromRow(
  r: {
    user_pk: string;
    next_bundle_seq: string;
    floor: string;
    scope_state: number;
    initializer_source_id: string | null;
    initialization_id: string | null;
    lease_expires_at: Date | string | null;
  },
  now: Date,
): UserState {
  return expireLease(toState(r), now);
}

/**
 * SQL for the user row of CTE `cte` (selected with {@link USER_COLUMNS}) as JSON text, for
 * statements that read the user alongside other work; {@link userStateFromJson} reads it.
 */
export function userJsonSql(cte: string): string {
  return `(SELECT row_to_json(x) FROM (SELECT user_pk, next_bundle_seq, floor, scope_state,
            initializer_source_id, initialization_id, lease_expires_at FROM ${cte}) x)::text`;
}

/** The user state from {@link userJsonSql}'s text, or null for an unknown user. */
export function userStateFromJson(json: string | null | undefined, now: Date): UserState | null {
  return json ? userStateFromRow(JSON.parse(json), now) : null;
}

/** The highest committed bundle of a user. */
export function latestSeq(u: UserState): bigint {
  return BigInt(u.nextBundleSeq) - 1n;
}

/** Reads a user's state without locking, or null for an unknown user. */
export async function readUser(q: Queryable, userId: string, now: Date): Promise<UserState | null> {
  const { rows } = await q.query<Row>(
    `SELECT ${USER_COLUMNS} FROM sync.user_state WHERE user_id = $1`,
    [userId],
  );
  const r = rows[0];
  return r ? expireLease(toState(r), now) : null;
}

/**
 * Creates the user row if needed and locks it for the rest of the transaction.
 *
 * Why a row lock as the per-user mutex: it is released by COMMIT/ROLLBACK, obeys
 * lock_timeout and cannot leak the way a session advisory lock can.
 */
export async function lockUser(tx: Queryable, userId: string, now: Date): Promise<UserState> {
  let res = await tx.query<Row>(
    `SELECT ${USER_COLUMNS} FROM sync.user_state WHERE user_id = $1 FOR UPDATE`,
    [userId],
  );
  if (res.rows.length === 0) {
    // Insert only when absent: ON CONFLICT alone would burn an identity value per call.
    await tx.query(
      `INSERT INTO sync.user_state (user_id) SELECT $1 WHERE NOT EXISTS
         (SELECT 1 FROM sync.user_state WHERE user_id = $1) ON CONFLICT (user_id) DO NOTHING`,
      [userId],
    );
    res = await tx.query<Row>(
      `SELECT ${USER_COLUMNS} FROM sync.user_state WHERE user_id = $1 FOR UPDATE`,
      [userId],
    );
  }
  const row = res.rows[0];
  if (!row) throw new Error('user_state row vanished');
  const state = toState(row);
  if (
    state.scopeState === SCOPE_INITIALIZING &&
    state.leaseExpiresAt &&
    state.leaseExpiresAt <= now
  ) {
    await tx.query(
      `UPDATE sync.user_state SET scope_state = 0, initializer_source_id = NULL, initialization_id = NULL,
              lease_expires_at = NULL WHERE user_pk = $1::int8`,
      [state.userPk],
    );
    return expireLease(state, now);
  }
  return state;
}

/** A lapsed lease reads as UNINITIALIZED. */
function expireLease(u: UserState, now: Date): UserState {
  if (u.scopeState === SCOPE_INITIALIZING && u.leaseExpiresAt && u.leaseExpiresAt <= now) {
    return {
      ...u,
      scopeState: 0,
      initializerSourceId: null,
      initializationId: null,
      leaseExpiresAt: null,
    };
  }
  return u;
}

/** Moves a scope to INITIALIZED. */
export async function markInitialized(
  tx: Queryable,
  userPk: string,
  bySource: string,
  now: Date,
): Promise<void> {
  await tx.query(
    `UPDATE sync.user_state SET scope_state = 2, initializer_source_id = NULL, initialization_id = NULL,
            lease_expires_at = NULL, initialized_at = $2, initialized_by_source_id = $3
      WHERE user_pk = $1::int8`,
    [userPk, now, bySource],
  );
}
