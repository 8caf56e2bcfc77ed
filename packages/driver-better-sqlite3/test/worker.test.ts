import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { SqlExecutor, SqliteDriver } from '@oversync/client';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const LONG_QUERY =
  'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) ' +
  'SELECT count(*) AS n FROM c';

let dir = '';
let files = 0;
const drivers: SqliteDriver[] = [];
/** One worker for the tests that do not need their own (each start loads a native addon). */
let shared: SqliteDriver;
let sharedFile = '';

function newFile(): string {
  files += 1;
  return join(dir, `worker-${files}.sqlite`);
}

function openWorker(filename: string = newFile()): SqliteDriver {
  const driver = createBetterSqlite3Driver({ filename, worker: true });
  drivers.push(driver);
  return driver;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error & { code?: unknown };
  }
  throw new Error('expected the call to reject');
}

/** Starts the worker of `start()` and returns it with its driver (caught on its first message). */
async function withWorkerHandle(
  start: () => SqliteDriver,
): Promise<{ driver: SqliteDriver; worker: Worker }> {
  const spy = vi.spyOn(Worker.prototype, 'postMessage');
  try {
    const driver = start();
    await driver.get('SELECT 1');
    const worker = spy.mock.contexts[0];
    if (!(worker instanceof Worker)) throw new Error('no worker posted a message');
    return { driver, worker };
  } finally {
    spy.mockRestore();
  }
}

/** Counts event-loop turns (setImmediate callbacks) while `work` is pending. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  let counting = true;
  const tick = (): void => {
    if (!counting) return;
    ticks += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await work();
  } finally {
    counting = false;
  }
  return ticks;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'oversync-worker-'));
  sharedFile = newFile();
  shared = openWorker(sharedFile);
});

afterAll(async () => {
  for (const driver of drivers) await driver.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('worker mode', () => {
  it('is named for logs', () => {
    expect(shared.name).toBe('better-sqlite3 (worker)');
  });

  it('keeps the event loop turning during a long statement', async () => {
    const inThread = createBetterSqlite3Driver({ filename: ':memory:' });
    drivers.push(inThread);
    await shared.get('SELECT 1');
    const workerTicks = await ticksDuring(() => shared.get(LONG_QUERY));
    // The same measure on an in-thread driver sees no turn at all: the statement runs inside
    // one microtask chain, so the count tells blocking from non-blocking.
    const inThreadTicks = await ticksDuring(() => inThread.get(LONG_QUERY));
    expect(inThreadTicks).toBe(0);
    expect(workerTicks).toBeGreaterThan(10);
  });

  it('waits for a lock while this thread runs the timer that releases it', async () => {
    const driver = shared;
    await driver.exec('CREATE TABLE locked(id INTEGER PRIMARY KEY)');
    const holder = new Database(sharedFile);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const write = driver.run('INSERT INTO locked VALUES (1)');
      // Only a free event loop can run this; an in-thread driver would sit in SQLite's busy
      // handler until SQLITE_BUSY.
      setTimeout(() => holder.exec('COMMIT'), 50);
      expect(await write).toEqual({ changes: 1 });
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('moves large batches and results in one message each', async () => {
    const driver = shared;
    await driver.exec(
      'CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, tag BLOB, wide INTEGER)',
    );
    const count = 20_000;
    const sets = Array.from({ length: count }, (_, i) => [
      i,
      `name-${i}`,
      new Uint8Array([i & 0xff, (i >> 8) & 0xff]),
      BigInt(i) * 2n ** 40n,
    ]);
    const spy = vi.spyOn(Worker.prototype, 'postMessage');
    let changes: number;
    try {
      changes = await driver.transaction(async (tx) =>
        tx.runBatch('INSERT INTO big VALUES (?, ?, ?, ?)', sets),
      );
      // BEGIN, the batch, COMMIT.
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
    expect(changes).toBe(count);
    const rows = await driver.all<{ id: number; name: string; tag: Uint8Array; wide: bigint }>(
      'SELECT * FROM big ORDER BY id',
    );
    expect(rows).toHaveLength(count);
    const last = rows[count - 1];
    expect(last?.name).toBe(`name-${count - 1}`);
    expect(Array.from(last?.tag ?? [])).toEqual([(count - 1) & 0xff, ((count - 1) >> 8) & 0xff]);
    expect(last?.wide).toBe(BigInt(count - 1) * 2n ** 40n);
    expect(rows[1]?.wide).toBe(2 ** 40);
  });

  it('binds Buffers by their own bytes and reads BLOBs as plain Uint8Array', async () => {
    const driver = shared;
    // A small Buffer is a view into Node's shared pool, at a non-zero offset.
    const pooled = Buffer.from('hello');
    const row = await driver.get<{ v: Uint8Array; n: number }>('SELECT ? AS v, length(?) AS n', [
      pooled,
      pooled,
    ]);
    expect(row?.n).toBe(5);
    expect(Object.getPrototypeOf(row?.v)).toBe(Uint8Array.prototype);
    expect(new TextDecoder().decode(row?.v)).toBe('hello');
  });

  it('rethrows worker errors with their class, name and SQLite code', async () => {
    const driver = shared;
    await driver.exec('CREATE TABLE u(id INTEGER PRIMARY KEY)');
    await driver.run('INSERT INTO u VALUES (1)');
    const sqlite = await rejection(driver.run('INSERT INTO u VALUES (1)'));
    expect(sqlite).toBeInstanceOf(Database.SqliteError);
    expect(sqlite.name).toBe('SqliteError');
    expect(sqlite.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(sqlite.message).toMatch(/UNIQUE constraint failed: u\.id/);
    expect(await rejection(driver.get('SELECT ?', [true as never]))).toBeInstanceOf(TypeError);
    expect(await rejection(driver.get('SELECT ?, ?', [1]))).toBeInstanceOf(RangeError);
    // A parameter structured clone cannot copy fails before it reaches the worker.
    await rejection(driver.get('SELECT ?', [(() => 1) as never]));
    expect(await driver.get('SELECT 1 AS ok')).toEqual({ ok: 1 });
  });

  it('rejects the calls when the database cannot be opened; close still resolves', async () => {
    // A directory is no database file: SQLite answers SQLITE_CANTOPEN.
    const driver = openWorker(dir);
    const err = await rejection(driver.get('SELECT 1'));
    expect(err.code).toBe('SQLITE_CANTOPEN');
    await rejection(driver.run('SELECT 1'));
    await driver.close();
  });

  it('refuses an executor used after its transaction ended', async () => {
    const driver = shared;
    let leaked: SqlExecutor | undefined;
    await driver.transaction(async (tx) => {
      leaked = tx;
    });
    const err = await rejection(leaked?.run('SELECT 1') ?? Promise.resolve());
    expect(err.message).toMatch(/transaction .* has ended/);
  });

  it('refuses { database } in worker mode', () => {
    const database = new Database(':memory:');
    try {
      expect(() => createBetterSqlite3Driver({ database, worker: true } as never)).toThrow(
        TypeError,
      );
    } finally {
      database.close();
    }
  });

  it('rejects pending and later calls when the worker dies; close still resolves', async () => {
    const { driver, worker } = await withWorkerHandle(() => openWorker());
    await driver.exec('CREATE TABLE t(a)');
    let queued: Promise<unknown> | undefined;
    const txn = driver.transaction(async (tx) => {
      // The worker is busy with the long query while the insert waits behind it, unanswered.
      const slow = tx.get(LONG_QUERY).catch(() => undefined);
      const pending = tx.run('INSERT INTO t VALUES (1)');
      queued = driver.get('SELECT count(*) AS n FROM t');
      await worker.terminate();
      const err = await rejection(pending);
      expect(err.message).toMatch(/worker exited/);
      await slow;
      return 'callback finished';
    });
    // The COMMIT cannot reach a dead worker, so the transaction fails too.
    expect((await rejection(txn)).message).toMatch(/worker exited/);
    expect((await rejection(queued ?? Promise.resolve())).message).toMatch(/worker exited/);
    await rejection(driver.all('SELECT 1'));
    await driver.close();
    await driver.close();
    await rejection(driver.all('SELECT 1'));
  });

  it('closes the connection and ends the worker on close()', async () => {
    const file = newFile();
    const { driver, worker } = await withWorkerHandle(() => openWorker(file));
    await driver.exec('CREATE TABLE t(a); INSERT INTO t VALUES (1)');
    expect(existsSync(`${file}-wal`)).toBe(true);
    const exited = once(worker, 'exit');
    await driver.close();
    await exited;
    // The last connection closed cleanly: SQLite checkpointed and removed the WAL.
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('does not keep the process alive while idle, but does while a call is pending', async () => {
    const entry = pathToFileURL(join(import.meta.dirname, '../src/index.ts')).href;
    const script = [
      `const { createBetterSqlite3Driver } = await import(${JSON.stringify(entry)});`,
      "const driver = createBetterSqlite3Driver({ filename: ':memory:', worker: true });",
      "console.log(JSON.stringify(await driver.get('SELECT 41 + 1 AS v')));",
      '// no close(): an idle worker must not hold the process open',
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@oversync/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 30_000 },
    );
    expect(stdout.trim()).toBe('{"v":42}');
  });
});
