/**
 * Experiment `prepared`: the server's own `createPgDatabase`, over a pool whose clients run
 * every parameterised statement as a named prepared statement (parsed once per
 * connection, plan cached by PostgreSQL's plan cache), to measure what re-parsing and
 * re-planning the statements of a pushed bundle costs. Only the statement naming differs
 * from production; transactions and everything else are the server's code.
 */
import { createHash } from 'node:crypto';
import { createPgDatabase, type SyncDatabase } from '@oversync/server';
import pg from 'pg';

type QueryFn = (text: string, params?: unknown[]) => Promise<pg.QueryResult>;

export function createPreparedPgDatabase(connectionString: string, max: number): SyncDatabase {
  const pool = new pg.Pool({ connectionString, max, options: '-c TimeZone=UTC' });
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let n = names.get(text);
    if (!n) {
      n = `ovs_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      names.set(text, n);
    }
    return n;
  };
  const named =
    (query: QueryFn): QueryFn =>
    (text, params) =>
      params && params.length > 0
        ? query({ name: nameOf(text), text, values: params } as never)
        : query(text, params);
  // A structural stand-in for the pool: same pool, statement naming added to `query`.
  const proxy = {
    query: named(pool.query.bind(pool) as QueryFn),
    on: pool.on.bind(pool),
    async connect() {
      const client = await pool.connect();
      return Object.assign(Object.create(client), {
        query: named(client.query.bind(client) as QueryFn),
      });
    },
  };
  const db = createPgDatabase({ pool: proxy as unknown as pg.Pool, connectionString });
  return {
    ...db,
    async close() {
      await db.close();
      await pool.end();
    },
  };
}
