/**
 * The driver conformance suite: every `SqliteDriver` (better-sqlite3 in-thread and in a worker,
 * SQLite WASM in the browser, React Native) runs it, so the client engine can rely on one
 * behaviour for values, statements, errors, transactions and serialisation.
 *
 * @module
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteDriver, SqlValue } from '@oversync/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Opens a fresh driver on `filename` (a path inside a temporary directory the suite owns).
 *
 * @example
 * ```ts
 * const open: OpenDriver = (filename) => createBetterSqlite3Driver({ filename });
 * ```
 */
export type OpenDriver = (filename: string) => Promise<SqliteDriver> | SqliteDriver;

type CodedError = Error & { code?: unknown };

const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);

async function rejection(promise: Promise<unknown>): Promise<CodedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as CodedError;
  }
  throw new Error('expected the call to reject');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hex(value: Uint8Array): string {
  let out = '';
  for (const byte of value) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** The bytes of a BLOB read as hex (cheap to compare), checking it is a plain Uint8Array. */
function blobHex(value: SqlValue | undefined): string {
  expect(value).toBeInstanceOf(Uint8Array);
  // Plain Uint8Array, not a subclass such as Node's Buffer whose toString()/equals() code could
  // come to depend on and then break on other platforms.
  expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
  return hex(value as Uint8Array);
}

/**
 * Registers the conformance suite of the `SqliteDriver` contract (see `driver.ts` of
 * `@oversync/client`) as a vitest `describe` block. `open` is called for a shared driver and
 * for a few tests that need their own (two connections to one file, close); every driver the
 * suite opens is closed and the temporary directory removed afterwards.
 *
 * @example
 * ```ts
 * import { describeDriverConformance } from '@oversync/test-kit';
 * import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';
 *
 * describeDriverConformance('better-sqlite3 (worker)', (filename) =>
 *   createBetterSqlite3Driver({ filename, worker: true }),
 * );
 * ```
 */
export function describeDriverConformance(label: string, open: OpenDriver): void {
  describe(`SqliteDriver conformance: ${label}`, () => {
    let dir = '';
    let files = 0;
    let db: SqliteDriver;
    const opened: SqliteDriver[] = [];

    function newFile(): string {
      files += 1;
      return join(dir, `db-${files}.sqlite`);
    }

    async function openDriver(filename: string = newFile()): Promise<SqliteDriver> {
      const driver = await open(filename);
      opened.push(driver);
      return driver;
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'oversync-driver-conformance-'));
      db = await openDriver();
    });

    afterAll(async () => {
      for (const driver of opened) await driver.close();
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    });

    /** Binds `value`, reads it back as bound and after a trip through a table. */
    async function roundTrip(value: SqlValue): Promise<{ bound: SqlValue; stored: SqlValue }> {
      const row = await db.get<{ v: SqlValue; t: SqlValue }>('SELECT ? AS v, typeof(?) AS t', [
        value,
        value,
      ]);
      await db.run('INSERT INTO vals(v) VALUES (?)', [value]);
      const stored = await db.get<{ v: SqlValue; t: SqlValue }>(
        'SELECT v, typeof(v) AS t FROM vals WHERE k = last_insert_rowid()',
      );
      expect(stored?.t).toBe(row?.t);
      return { bound: row?.v ?? null, stored: stored?.v ?? null };
    }

    async function typeOf(value: SqlValue): Promise<SqlValue | undefined> {
      return (await db.get<{ t: SqlValue }>('SELECT typeof(?) AS t', [value]))?.t;
    }

    describe('values', () => {
      beforeAll(async () => {
        // No declared type: no column affinity converts what the driver bound.
        await db.exec('CREATE TABLE vals(k INTEGER PRIMARY KEY, v)');
      });

      it('round-trips NULL and TEXT, including unicode', async () => {
        expect(await typeOf(null)).toBe('null');
        const { bound, stored } = await roundTrip(null);
        expect(bound).toBeNull();
        expect(stored).toBeNull();
        const texts = [
          '',
          'plain',
          'quotes \' " and \\ backslash',
          'line\nbreak\ttab',
          'ünïcödé é (e + U+0301)',
          '日本語 한국어 עברית العربية',
          '🙂👍🏽👨‍👩‍👧 (astral, modifier, ZWJ)',
          'x'.repeat(100_000),
        ];
        for (const text of texts) {
          expect(await typeOf(text)).toBe('text');
          const trip = await roundTrip(text);
          expect(trip.bound).toBe(text);
          expect(trip.stored).toBe(text);
        }
      });

      it('binds safe integer numbers as INTEGER and reads them back as number', async () => {
        const values = [
          0,
          1,
          -1,
          42,
          2 ** 31,
          -(2 ** 31) - 1,
          2 ** 32,
          2 ** 53 - 1,
          -(2 ** 53 - 1),
        ];
        for (const value of values) {
          expect(await typeOf(value)).toBe('integer');
          const trip = await roundTrip(value);
          expect(trip.bound).toBe(value);
          expect(trip.stored).toBe(value);
        }
      });

      it('binds bigint as INTEGER and reads safe values back as number', async () => {
        for (const value of [0n, 5n, -5n, 2n ** 53n - 1n, -(2n ** 53n - 1n)]) {
          expect(await typeOf(value)).toBe('integer');
          const trip = await roundTrip(value);
          expect(trip.bound).toBe(Number(value));
          expect(trip.stored).toBe(Number(value));
        }
      });

      it('reads INTEGERs beyond ±(2^53 − 1) as exact bigint, up to the int64 extremes', async () => {
        const values = [
          2n ** 53n,
          -(2n ** 53n),
          2n ** 53n + 1n,
          MAX_INT64,
          MIN_INT64,
          MIN_INT64 + 1n,
        ];
        for (const value of values) {
          expect(await typeOf(value)).toBe('integer');
          const trip = await roundTrip(value);
          expect(trip.bound).toBe(value);
          expect(trip.stored).toBe(value);
        }
        const literals = await db.get(
          'SELECT 9223372036854775807 AS max, -9223372036854775808 AS min, ' +
            '9007199254740991 AS safe, 9007199254740991 + 1 AS unsafe, -9007199254740991 - 1 AS low',
        );
        expect(literals).toEqual({
          max: MAX_INT64,
          min: MIN_INT64,
          safe: 2 ** 53 - 1,
          unsafe: 2n ** 53n,
          low: -(2n ** 53n),
        });
        // Arithmetic on a bound safe number crosses the boundary inside SQLite.
        expect(await db.get('SELECT ? + 1 AS v', [Number.MAX_SAFE_INTEGER])).toEqual({
          v: 2n ** 53n,
        });
      });

      it('binds numbers that are not safe integers as REAL and reads them back exactly', async () => {
        const values = [
          1.5,
          -2.25,
          0.1,
          2 ** 53, // integral, but not a safe integer
          -(2 ** 53),
          1e308,
          -1e308,
          Number.MAX_VALUE,
          5e-324,
          -5e-324,
        ];
        for (const value of values) {
          expect(await typeOf(value)).toBe('real');
          const trip = await roundTrip(value);
          expect(trip.bound).toBe(value);
          expect(trip.stored).toBe(value);
        }
        // Integral REALs stay REAL and read back as number.
        expect(await db.get('SELECT 2.0 AS v, typeof(2.0) AS t')).toEqual({ v: 2, t: 'real' });
      });

      it('reads -0 back as zero', async () => {
        // The wire renders -0 as 0; drivers may or may not keep the sign, but never change it
        // into anything but a zero number.
        const trip = await roundTrip(-0);
        expect(typeof trip.bound).toBe('number');
        expect(trip.bound === 0).toBe(true);
        expect(trip.stored === 0).toBe(true);
        const literal = await db.get<{ v: SqlValue; t: SqlValue }>(
          'SELECT -0.0 AS v, typeof(-0.0) AS t',
        );
        expect(literal?.t).toBe('real');
        expect(typeof literal?.v).toBe('number');
        expect(literal?.v === 0).toBe(true);
      });

      it('round-trips BLOBs as plain Uint8Array, including empty and views', async () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const large = Uint8Array.from({ length: 65_536 }, (_, i) => (i * 7919) % 251);
        for (const value of [new Uint8Array(0), new Uint8Array([0]), all, large]) {
          expect(await typeOf(value)).toBe('blob');
          const trip = await roundTrip(value);
          expect(blobHex(trip.bound)).toBe(hex(value));
          expect(blobHex(trip.stored)).toBe(hex(value));
        }
        // A view binds its own bytes, not the whole underlying buffer.
        const view = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
        const trip = await roundTrip(view);
        expect(blobHex(trip.stored)).toBe('010203');
        expect(blobHex((await db.get("SELECT x'' AS v"))?.v)).toBe('');
        expect(blobHex((await db.get("SELECT x'00ff' AS v"))?.v)).toBe('00ff');
      });

      it('keeps each storage class through a table row', async () => {
        await db.exec(
          'CREATE TABLE mixed(id TEXT PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, n)',
        );
        const row = ['k1', MAX_INT64, 0.5, 'text', new Uint8Array([1, 2]), null] as const;
        await db.run('INSERT INTO mixed VALUES (?, ?, ?, ?, ?, ?)', row);
        const back = await db.get('SELECT * FROM mixed WHERE id = ?', ['k1']);
        expect({ ...back, b: blobHex(back?.b) }).toEqual({
          id: 'k1',
          i: MAX_INT64,
          r: 0.5,
          t: 'text',
          b: '0102',
          n: null,
        });
        // An INTEGER PRIMARY KEY lookup with a number finds the row (numbers bind as INTEGER).
        await db.exec('CREATE TABLE ipk(id INTEGER PRIMARY KEY, v TEXT)');
        await db.run('INSERT INTO ipk VALUES (?, ?)', [7, 'seven']);
        expect(await db.get('SELECT v FROM ipk WHERE id = ?', [7])).toEqual({ v: 'seven' });
      });
    });

    describe('statements', () => {
      beforeAll(async () => {
        await db.exec(
          'CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER)',
        );
      });

      it('run() reports changes', async () => {
        expect(await db.run("INSERT INTO items VALUES (1, 'a', 1)")).toEqual({ changes: 1 });
        expect((await db.run('INSERT INTO items VALUES (?, ?, ?)', [2, 'b', 2])).changes).toBe(1);
        expect((await db.run('INSERT INTO items VALUES (?, ?, ?)', [3, 'c', 3])).changes).toBe(1);
        expect((await db.run('UPDATE items SET qty = qty + 1')).changes).toBe(3);
        expect((await db.run('UPDATE items SET qty = 0 WHERE id > ?', [1])).changes).toBe(2);
        expect((await db.run('DELETE FROM items WHERE id = ?', [99])).changes).toBe(0);
      });

      it('get() returns the first row or undefined; all() every row in order', async () => {
        expect(await db.get('SELECT id, name FROM items ORDER BY id')).toEqual({
          id: 1,
          name: 'a',
        });
        expect(await db.get('SELECT id FROM items WHERE id = ?', [99])).toBeUndefined();
        expect(
          await db.all('SELECT id, name FROM items WHERE id >= ? ORDER BY id DESC', [2]),
        ).toEqual([
          { id: 3, name: 'c' },
          { id: 2, name: 'b' },
        ]);
        expect(await db.all('SELECT id FROM items WHERE id = 99')).toEqual([]);
        expect(await db.get('SELECT count(*) AS n, max(id) AS top FROM items')).toEqual({
          n: 3,
          top: 3,
        });
      });

      it('exec() runs a script of several statements', async () => {
        await db.exec(`
          CREATE TABLE script(a INTEGER);
          INSERT INTO script VALUES (1);
          INSERT INTO script VALUES (2);
          UPDATE script SET a = a * 10;
        `);
        expect(await db.all('SELECT a FROM script ORDER BY a')).toEqual([{ a: 10 }, { a: 20 }]);
      });

      it('runBatch() runs a statement per parameter set and returns the total of changes', async () => {
        await db.exec('CREATE TABLE batch(id INTEGER PRIMARY KEY, v)');
        expect(await db.runBatch('INSERT INTO batch VALUES (?, ?)', [])).toBe(0);
        const sets = Array.from({ length: 500 }, (_, i) => [i, i % 2 === 0 ? `v${i}` : BigInt(i)]);
        expect(await db.runBatch('INSERT INTO batch VALUES (?, ?)', sets)).toBe(500);
        // Sets that match nothing count nothing.
        expect(
          await db.runBatch('UPDATE batch SET v = NULL WHERE id = ?', [[1], [2], [1000], [3]]),
        ).toBe(3);
        expect(await db.get('SELECT count(*) AS n, sum(v IS NULL) AS nulls FROM batch')).toEqual({
          n: 500,
          nulls: 3,
        });
        const err = await rejection(
          db.runBatch('INSERT INTO batch VALUES (?, ?)', [
            [1000, 'ok'],
            [0, 'duplicate'],
          ]),
        );
        expect(err.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
      });

      it('rejects with an Error on bad SQL and stays usable', async () => {
        await rejection(db.run('SELEKT 1'));
        await rejection(db.all('SELECT * FROM no_such_table'));
        await rejection(db.exec('CREATE TABLE ok_then(a); NOT SQL;'));
        expect(await db.get('SELECT 1 AS one')).toEqual({ one: 1 });
      });

      it('reports constraint violations with their SQLite code', async () => {
        await db.exec(`
          CREATE TABLE parent(id INTEGER PRIMARY KEY);
          CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),
            email TEXT UNIQUE, n INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0));
          INSERT INTO parent VALUES (1);
          INSERT INTO child(id, parent_id, email) VALUES (1, 1, 'a@x');
        `);
        const cases: [string, readonly SqlValue[], string][] = [
          [
            'INSERT INTO child(id, parent_id) VALUES (?, ?)',
            [1, 1],
            'SQLITE_CONSTRAINT_PRIMARYKEY',
          ],
          ['INSERT INTO child(id, email) VALUES (?, ?)', [2, 'a@x'], 'SQLITE_CONSTRAINT_UNIQUE'],
          ['INSERT INTO child(id, n) VALUES (?, ?)', [2, null], 'SQLITE_CONSTRAINT_NOTNULL'],
          ['INSERT INTO child(id, n) VALUES (?, ?)', [2, -1], 'SQLITE_CONSTRAINT_CHECK'],
          [
            'INSERT INTO child(id, parent_id) VALUES (?, ?)',
            [2, 42],
            'SQLITE_CONSTRAINT_FOREIGNKEY',
          ],
          ['DELETE FROM parent WHERE id = ?', [1], 'SQLITE_CONSTRAINT_FOREIGNKEY'],
        ];
        for (const [sql, params, code] of cases) {
          const err = await rejection(db.run(sql, params));
          expect(err.code, sql).toBe(code);
        }
      });

      it('has foreign_keys on', async () => {
        expect(await db.get('PRAGMA foreign_keys')).toEqual({ foreign_keys: 1 });
      });

      it("surfaces a trigger's RAISE(ABORT, message) with exactly that message", async () => {
        await db.exec(`
          CREATE TABLE guarded(id INTEGER PRIMARY KEY);
          CREATE TRIGGER guarded_insert BEFORE INSERT ON guarded
          BEGIN SELECT RAISE(ABORT, 'SYNC_TRANSITION_PENDING'); END;
        `);
        const err = await rejection(db.run('INSERT INTO guarded VALUES (1)'));
        expect(err.message).toBe('SYNC_TRANSITION_PENDING');
        expect(err.code).toBe('SQLITE_CONSTRAINT_TRIGGER');
        const inTx = await rejection(
          db.transaction(async (tx) => tx.runBatch('INSERT INTO guarded VALUES (?)', [[2]])),
        );
        expect(inTx.message).toBe('SYNC_TRANSITION_PENDING');
      });
    });

    describe('transactions', () => {
      beforeAll(async () => {
        await db.exec('CREATE TABLE tx(id INTEGER PRIMARY KEY, v TEXT)');
      });

      async function ids(): Promise<number[]> {
        return (await db.all<{ id: number }>('SELECT id FROM tx ORDER BY id')).map((r) => r.id);
      }

      it('commits when the callback resolves and returns its value', async () => {
        const result = await db.transaction(async (tx) => {
          await tx.run('INSERT INTO tx VALUES (?, ?)', [1, 'one']);
          expect(await tx.get('SELECT v FROM tx WHERE id = 1')).toEqual({ v: 'one' });
          await tx.exec("INSERT INTO tx VALUES (2, 'two')");
          expect(await tx.runBatch('INSERT INTO tx VALUES (?, ?)', [[3, 'three']])).toBe(1);
          return (await tx.all('SELECT id FROM tx')).length;
        });
        expect(result).toBe(3);
        expect(await ids()).toEqual([1, 2, 3]);
      });

      it('rolls back when the callback rejects and rethrows the same error', async () => {
        const sentinel = new Error('callback failed');
        const err = await rejection(
          db.transaction(async (tx) => {
            await tx.run('INSERT INTO tx VALUES (?, ?)', [10, 'ten']);
            await tx.run('DELETE FROM tx WHERE id = ?', [1]);
            throw sentinel;
          }),
        );
        expect(err).toBe(sentinel);
        expect(await ids()).toEqual([1, 2, 3]);
        // A statement error that escapes the callback also rolls back and is rethrown as is.
        let thrown: unknown;
        const sqlErr = await rejection(
          db.transaction(async (tx) => {
            await tx.run('INSERT INTO tx VALUES (?, ?)', [11, 'eleven']);
            try {
              await tx.run('INSERT INTO tx VALUES (?, ?)', [1, 'duplicate']);
            } catch (error) {
              thrown = error;
              throw error;
            }
          }),
        );
        expect(sqlErr).toBe(thrown);
        expect(sqlErr.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
        expect(await ids()).toEqual([1, 2, 3]);
      });

      it('keeps the transaction open after a statement error the callback handles', async () => {
        await db.transaction(async (tx) => {
          await tx.run('INSERT INTO tx VALUES (?, ?)', [4, 'four']);
          await rejection(tx.run('INSERT INTO tx VALUES (?, ?)', [4, 'again']));
          await tx.run('INSERT INTO tx VALUES (?, ?)', [5, 'five']);
        });
        expect(await ids()).toEqual([1, 2, 3, 4, 5]);
      });

      it('supports deferred transactions', async () => {
        const n = await db.transaction(
          async (tx) => (await tx.get<{ n: number }>('SELECT count(*) AS n FROM tx'))?.n,
          { mode: 'deferred' },
        );
        expect(n).toBe(5);
        await db.transaction(async (tx) => tx.run('DELETE FROM tx WHERE id = 5'), {
          mode: 'deferred',
        });
        expect(await ids()).toEqual([1, 2, 3, 4]);
      });

      it('runs a call made during another caller’s transaction after it, never inside it', async () => {
        const events: string[] = [];
        let other: Promise<unknown> | undefined;
        let otherRead: Promise<unknown> | undefined;
        const sentinel = new Error('roll back');
        const txDone = db
          .transaction(async (tx) => {
            await tx.run('INSERT INTO tx VALUES (?, ?)', [20, 'in transaction']);
            // Another caller writes and reads while the transaction is open.
            other = db.run('INSERT INTO tx VALUES (?, ?)', [21, 'other caller']).then((r) => {
              events.push('other write');
              return r;
            });
            otherRead = db.all('SELECT id FROM tx WHERE id >= 20 ORDER BY id');
            await delay(30);
            expect(events).toEqual([]);
            // Had the write run inside this transaction, it would be visible here...
            expect(await tx.all('SELECT id FROM tx WHERE id >= 20 ORDER BY id')).toEqual([
              { id: 20 },
            ]);
            throw sentinel;
          })
          .catch((error: unknown) => {
            events.push('transaction');
            throw error;
          });
        expect(await rejection(txDone)).toBe(sentinel);
        await other;
        // ...and had it run inside, the rollback would have discarded it.
        expect(events).toEqual(['transaction', 'other write']);
        expect(await otherRead).toEqual([{ id: 21 }]);
        expect(await db.all('SELECT id, v FROM tx WHERE id >= 20')).toEqual([
          { id: 21, v: 'other caller' },
        ]);
      });

      it('runs calls in the order they were made', async () => {
        const writes = [30, 31, 32].map((id) => db.run('INSERT INTO tx VALUES (?, ?)', [id, 'q']));
        const read = db.all('SELECT id FROM tx WHERE id >= 30 ORDER BY id');
        const txn = db.transaction(async (tx) => tx.run('DELETE FROM tx WHERE id = 31'));
        const after = db.all('SELECT id FROM tx WHERE id >= 30 ORDER BY id');
        await Promise.all([...writes, txn]);
        expect(await read).toEqual([{ id: 30 }, { id: 31 }, { id: 32 }]);
        expect(await after).toEqual([{ id: 30 }, { id: 32 }]);
      });

      it('applies PRAGMA defer_foreign_keys inside a transaction until it ends', async () => {
        await db.exec(`
          CREATE TABLE dparent(id INTEGER PRIMARY KEY);
          CREATE TABLE dchild(id INTEGER PRIMARY KEY,
            parent_id INTEGER NOT NULL REFERENCES dparent(id));
        `);
        // The child is written before its parent: fine when checked at COMMIT.
        await db.transaction(async (tx) => {
          await tx.run('PRAGMA defer_foreign_keys = ON');
          await tx.run('INSERT INTO dchild VALUES (?, ?)', [1, 1]);
          await tx.run('INSERT INTO dparent VALUES (?)', [1]);
        });
        expect(await db.all('SELECT id FROM dchild')).toEqual([{ id: 1 }]);
        // A violation still standing at COMMIT rejects the transaction and rolls it back.
        const err = await rejection(
          db.transaction(async (tx) => {
            await tx.run('PRAGMA defer_foreign_keys = ON');
            await tx.run('INSERT INTO dchild VALUES (?, ?)', [2, 99]);
            await tx.run('INSERT INTO dparent VALUES (?)', [2]);
          }),
        );
        expect(err.code).toBe('SQLITE_CONSTRAINT_FOREIGNKEY');
        expect(await db.all('SELECT id FROM dparent ORDER BY id')).toEqual([{ id: 1 }]);
        expect(await db.all('SELECT id FROM dchild ORDER BY id')).toEqual([{ id: 1 }]);
        // The pragma ended with the transaction, and the connection is not left in one.
        expect(await db.get('PRAGMA defer_foreign_keys')).toEqual({ defer_foreign_keys: 0 });
        await rejection(db.run('INSERT INTO dchild VALUES (?, ?)', [3, 99]));
        await db.transaction(async (tx) => tx.run('INSERT INTO dparent VALUES (?)', [3]));
        expect(await db.all('SELECT id FROM dparent ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
      });
    });

    describe('connections', () => {
      it('lets two drivers on one file see each other’s committed data', async () => {
        const file = newFile();
        const a = await openDriver(file);
        const b = await openDriver(file);
        await a.exec('CREATE TABLE shared(id INTEGER PRIMARY KEY, v TEXT)');
        await a.run('INSERT INTO shared VALUES (?, ?)', [1, 'from a']);
        expect(await b.all('SELECT * FROM shared')).toEqual([{ id: 1, v: 'from a' }]);
        await b.run('INSERT INTO shared VALUES (?, ?)', [2, 'from b']);
        expect(await a.all('SELECT id FROM shared ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
        // Uncommitted writes stay private to their transaction.
        await a.transaction(async (tx) => {
          await tx.run('INSERT INTO shared VALUES (?, ?)', [3, 'pending']);
          expect(await b.get('SELECT count(*) AS n FROM shared')).toEqual({ n: 2 });
        });
        expect(await b.get('SELECT count(*) AS n FROM shared')).toEqual({ n: 3 });
      });

      it('closes idempotently; later calls reject', async () => {
        const driver = await openDriver();
        await driver.exec('CREATE TABLE t(a)');
        await Promise.all([driver.close(), driver.close()]);
        await driver.close();
        await rejection(driver.run('INSERT INTO t VALUES (1)'));
        await rejection(driver.all('SELECT * FROM t'));
        await rejection(driver.get('SELECT * FROM t'));
        await rejection(driver.exec('SELECT 1'));
        await rejection(driver.runBatch('INSERT INTO t VALUES (?)', [[1]]));
        await rejection(driver.transaction(async () => 1));
        await driver.close();
      });

      it('lets a transaction in progress finish before closing; data persists', async () => {
        const file = newFile();
        const driver = await openDriver(file);
        await driver.exec('CREATE TABLE kept(id INTEGER PRIMARY KEY)');
        const txn = driver.transaction(async (tx) => {
          await delay(20);
          await tx.run('INSERT INTO kept VALUES (?)', [1]);
          return 'done';
        });
        const closed = driver.close();
        expect(await txn).toBe('done');
        await closed;
        const reopened = await openDriver(file);
        expect(await reopened.all('SELECT id FROM kept')).toEqual([{ id: 1 }]);
      });
    });
  });
}
