/**
 * The small database interface the server runs on, with two implementations:
 * `pg` (real PostgreSQL) and PGlite (embedded).
 *
 * @module
 */

/** One result set. Column values are whatever the driver produced; callers cast in SQL. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything that runs a parameterised statement. */
export interface Queryable {
  /**
   * Runs one statement.
   *
   * @example
   * ```ts
   * const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM sync.bundle_log');
   * ```
   */
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
  /** Runs several `;`-separated statements without parameters. */
  exec(sql: string): Promise<void>;
}

/** Transaction options. */
export interface TransactionOptions {
  /** @default 'read committed' */
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /** @default false */
  readOnly?: boolean;
}

/**
 * The database handle the sync service uses.
 *
 * Why an interface of our own: the server must run unchanged on a `pg` pool and on PGlite,
 * and third-party objects are accepted structurally (the Kysely habit).
 */
export interface SyncDatabase extends Queryable {
  /** `'postgres'` for a real server, `'pglite'` for the embedded one. */
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` inside one transaction; commits when it resolves, rolls back when it throws.
   * Never call the outer handle from inside `fn` (PGlite has one connection: it would wait forever).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Closes pools and listeners this handle owns. */
  close(): Promise<void>;
}

/** SQLSTATE of a database error, if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for errors worth retrying the whole transaction for. */
export function isRetryableTxError(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40001' || code === '40P01';
}

/** `BEGIN` text for the options. */
export function beginStatement(options: TransactionOptions | undefined): string {
  const isolation = options?.isolation ?? 'read committed';
  return `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}${options?.readOnly ? ' READ ONLY' : ''}`;
}
