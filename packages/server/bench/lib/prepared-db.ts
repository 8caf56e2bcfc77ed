/**
 * Experiment `prepared`: a {@link SyncDatabase} over a `pg` pool that runs every
 * parameterised statement as a named prepared statement (parsed once per connection,
 * plan cached by PostgreSQL's plan cache), to measure what re-parsing and re-planning
 * ~38 statements per pushed bundle costs. Otherwise it behaves like `createPgDatabase`
 * (UTC sessions, same transaction handling); LISTEN is not supported (watch is off).
 */
import { createHash } from 'node:crypto';
import type { Queryable, QueryResult, SyncDatabase } from '@oversync/server';
import pg from 'pg';

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
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res =
        params && params.length > 0
          ? await c.query({ name: nameOf(text), text, values: params as unknown[] })
          : await c.query(text);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await c.query(sql);
    },
  });
  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction(fn, options) {
      const client = await pool.connect();
      let broken = false;
      try {
        const iso = (options?.isolation ?? 'read committed').toUpperCase();
        await client.query(`BEGIN ISOLATION LEVEL ${iso}${options?.readOnly ? ' READ ONLY' : ''}`);
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async listen() {
      throw new Error('LISTEN is not supported by the prepared-statement experiment');
    },
    async close() {
      await pool.end();
    },
  };
}
