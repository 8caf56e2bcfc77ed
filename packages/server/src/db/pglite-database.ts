import type { Queryable, QueryResult, SyncDatabase, TransactionOptions } from './sync-database.js';

/** The part of a PGlite instance (or transaction) we use, declared structurally. */
export interface PGliteQueryableLike {
  query<T>(query: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  exec(query: string): Promise<unknown>;
}

/** The part of a PGlite instance we use. */
export interface PGliteLike extends PGliteQueryableLike {
  transaction<T>(callback: (tx: PGliteQueryableLike) => Promise<T>): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * A {@link SyncDatabase} on an embedded PGlite instance.
 *
 * PGlite is a single backend: every transaction is already serialised, so the per-user
 * lock becomes a no-op and notifications come from PGlite's own `listen`.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite';
 * const db = createPgliteDatabase(await PGlite.create('./.oversync/pgdata'));
 * ```
 */
export function createPgliteDatabase(pglite: PGliteLike): SyncDatabase {
  let timezoneSet: Promise<unknown> | undefined;
  const ready = (): Promise<unknown> => {
    // Why: payload timestamps and hashes must not depend on the session TimeZone.
    timezoneSet ??= pglite.exec(`SET TimeZone = 'UTC'`);
    return timezoneSet;
  };
  const wrap = (q: PGliteQueryableLike): Queryable => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res = await q.query<R>(text, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await q.exec(sql);
    },
  });
  const top = wrap(pglite);
  return {
    kind: 'pglite',
    async query<R>(text: string, params?: readonly unknown[]) {
      await ready();
      return top.query<R>(text, params);
    },
    async exec(sql: string): Promise<void> {
      await ready();
      await pglite.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TransactionOptions): Promise<T> {
      await ready();
      return pglite.transaction(async (tx) => {
        const iso = opts?.isolation ?? 'read committed';
        if (iso !== 'read committed' || opts?.readOnly) {
          await tx.query(
            `SET TRANSACTION ISOLATION LEVEL ${iso.toUpperCase()}${opts?.readOnly ? ' READ ONLY' : ''}`,
          );
        }
        return fn(wrap(tx));
      });
    },
    async listen(channel: string, onPayload: (payload: string) => void) {
      await ready();
      const unlisten = await pglite.listen(channel, onPayload);
      return async () => {
        await unlisten();
      };
    },
    async close(): Promise<void> {
      // The PGlite instance belongs to the caller, who closes it.
    },
  };
}
