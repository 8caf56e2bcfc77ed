import pg from 'pg';
import type { Logger } from '../util/logger.js';
import { noopLogger } from '../util/logger.js';
import { quoteIdent } from '../util/sql.js';
import {
  beginStatement,
  type Queryable,
  type QueryResult,
  type SyncDatabase,
  type TransactionOptions,
} from './sync-database.js';

/** Options of {@link createPgDatabase}. */
export interface PgDatabaseOptions {
  /** PostgreSQL URL, e.g. `postgres://user@127.0.0.1:5432/app`. */
  connectionString?: string;
  /** An existing pool to use instead (not closed by `close()`). */
  pool?: pg.Pool;
  /** Pool size. @default 10 */
  max?: number;
  /** Logger for listener reconnects. */
  logger?: Logger;
}

/**
 * A {@link SyncDatabase} on real PostgreSQL through a `pg` pool, with one dedicated
 * connection for LISTEN that reconnects by itself.
 *
 * @example
 * ```ts
 * const db = createPgDatabase({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export function createPgDatabase(options: PgDatabaseOptions): SyncDatabase {
  const ownsPool = options.pool === undefined;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      // Why: payload timestamps and hashes must not depend on the server's TimeZone setting.
      options: '-c TimeZone=UTC',
    });
  // A pool error (idle client dropped) must not crash the process.
  pool.on('error', (err) => (options.logger ?? noopLogger).warn({ err }, 'pg pool error'));
  const logger = options.logger ?? noopLogger;
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let listenClient: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let backoffMs = 100;

  const wrap = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const res = await client.query(text, params as unknown[] | undefined);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  });

  async function connectListener(): Promise<void> {
    const client = new pg.Client(
      options.connectionString === undefined
        ? (pool as unknown as { options: pg.ClientConfig }).options
        : { connectionString: options.connectionString },
    );
    client.on('notification', (msg) => {
      const set = listeners.get(msg.channel);
      if (set) for (const cb of set) cb(msg.payload ?? '');
    });
    client.on('error', (err) => {
      logger.warn({ err }, 'listen connection lost; reconnecting');
      if (listenClient === client) listenClient = undefined;
      client.end().catch(() => undefined);
      scheduleReconnect();
    });
    await client.connect();
    for (const channel of listeners.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    listenClient = client;
    backoffMs = 100;
    // Why: NOTIFYs sent while we were disconnected are lost; tell subscribers to catch up.
    for (const set of listeners.values()) for (const cb of set) cb('');
  }

  function scheduleReconnect(): void {
    if (closed) return;
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, 2000);
    setTimeout(() => {
      if (closed) return;
      connecting = connectListener().catch((err) => {
        logger.warn({ err }, 'listen reconnect failed');
        scheduleReconnect();
      });
    }, delay).unref();
  }

  return {
    kind: 'postgres',
    ...wrap(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TransactionOptions): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query(beginStatement(opts));
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
    async listen(channel: string, onPayload: (payload: string) => void) {
      let set = listeners.get(channel);
      const isNew = set === undefined;
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(onPayload);
      if (!listenClient) {
        connecting ??= connectListener();
        await connecting;
      } else if (isNew) {
        await listenClient.query(`LISTEN ${quoteIdent(channel)}`);
      }
      return async () => {
        set.delete(onPayload);
      };
    },
    async close(): Promise<void> {
      closed = true;
      listeners.clear();
      const client = listenClient;
      listenClient = undefined;
      if (client) await client.end().catch(() => undefined);
      if (ownsPool) await pool.end();
    },
  };
}
