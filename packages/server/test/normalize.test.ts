/**
 * Normalisation of captured events (docs/protocol.md §4.3): unit tests of `normalizeCaptured`
 * and end-to-end checks through `scopeManager.execWrite` on a text-keyed table.
 */

import type { Queryable } from '@oversync/server';
import {
  BACKENDS,
  startTestServer,
  type TableSpecs,
  type TestServer,
  uniqueUser,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CapturedEvent,
  normalizeCaptured,
  OP_DELETE,
  OP_INSERT,
  OP_UPDATE,
  type OpCode,
} from '../src/capture/normalize.js';
import { latestSeq, ok, recomputeBundleHash } from './helpers.js';

function e(tableId: number, key: string, op: OpCode, payload: string | null = null): CapturedEvent {
  return { tableId, key, op, payload: op === OP_DELETE ? null : (payload ?? `{"v":"${key}"}`) };
}

describe('normalizeCaptured', () => {
  it('returns nothing for no events', () => {
    expect(normalizeCaptured([])).toEqual([]);
  });

  it('INSERT then DELETE of the same row is dropped', () => {
    expect(normalizeCaptured([e(1, 'a', OP_INSERT, '{"n":1}'), e(1, 'a', OP_DELETE)])).toEqual([]);
    // Whatever happens in between.
    expect(
      normalizeCaptured([
        e(1, 'a', OP_INSERT, '{"n":1}'),
        e(1, 'a', OP_UPDATE, '{"n":2}'),
        e(1, 'a', OP_DELETE),
        e(1, 'a', OP_INSERT, '{"n":3}'),
        e(1, 'a', OP_DELETE),
      ]),
    ).toEqual([]);
  });

  it('DELETE then INSERT of the same row becomes an UPDATE with the last image', () => {
    expect(normalizeCaptured([e(1, 'a', OP_DELETE), e(1, 'a', OP_INSERT, '{"n":2}')])).toEqual([
      { tableId: 1, key: 'a', op: OP_UPDATE, payload: '{"n":2}' },
    ]);
  });

  it.each([
    ['INSERT, UPDATE, UPDATE', [OP_INSERT, OP_UPDATE, OP_UPDATE], OP_INSERT],
    ['INSERT, DELETE, INSERT', [OP_INSERT, OP_DELETE, OP_INSERT], OP_INSERT],
    ['UPDATE, UPDATE', [OP_UPDATE, OP_UPDATE], OP_UPDATE],
    ['UPDATE, DELETE, INSERT', [OP_UPDATE, OP_DELETE, OP_INSERT], OP_UPDATE],
    ['DELETE, INSERT, UPDATE', [OP_DELETE, OP_INSERT, OP_UPDATE], OP_UPDATE],
  ] as const)('%s → %s with the last image', (_name, ops, expected) => {
    const events = ops.map((op, i) => e(4, 'k', op, `{"n":${i}}`));
    expect(normalizeCaptured(events)).toEqual([
      { tableId: 4, key: 'k', op: expected, payload: `{"n":${ops.length - 1}}` },
    ]);
  });

  it.each([
    ['UPDATE, DELETE', [OP_UPDATE, OP_DELETE]],
    ['DELETE', [OP_DELETE]],
    ['DELETE, INSERT, DELETE', [OP_DELETE, OP_INSERT, OP_DELETE]],
    ['UPDATE, UPDATE, DELETE', [OP_UPDATE, OP_UPDATE, OP_DELETE]],
  ] as const)('%s → DELETE without payload', (_name, ops) => {
    const events = ops.map((op, i) => e(4, 'k', op, `{"n":${i}}`));
    expect(normalizeCaptured(events)).toEqual([
      { tableId: 4, key: 'k', op: OP_DELETE, payload: null },
    ]);
  });

  it('keeps one effect per (table, key): the same key in two tables is two rows', () => {
    expect(
      normalizeCaptured([
        e(1, 'same', OP_INSERT, '{"t":1}'),
        e(2, 'same', OP_UPDATE, '{"t":2}'),
        e(1, 'same', OP_DELETE),
      ]),
    ).toEqual([{ tableId: 2, key: 'same', op: OP_UPDATE, payload: '{"t":2}' }]);
  });

  it('orders effects by the first touch of each row, not by the last', () => {
    const out = normalizeCaptured([
      e(1, 'b', OP_UPDATE, '{"b":1}'),
      e(1, 'a', OP_INSERT, '{"a":1}'),
      e(2, 'b', OP_INSERT, '{"b2":1}'),
      e(1, 'gone', OP_INSERT),
      e(1, 'c', OP_DELETE),
      e(1, 'gone', OP_DELETE),
      e(1, 'b', OP_UPDATE, '{"b":2}'),
      e(1, 'a', OP_UPDATE, '{"a":2}'),
    ]);
    expect(out).toEqual([
      { tableId: 1, key: 'b', op: OP_UPDATE, payload: '{"b":2}' },
      { tableId: 1, key: 'a', op: OP_INSERT, payload: '{"a":2}' },
      { tableId: 2, key: 'b', op: OP_INSERT, payload: '{"b2":1}' },
      { tableId: 1, key: 'c', op: OP_DELETE, payload: null },
    ]);
  });

  it('does not modify its input', () => {
    const events = [e(1, 'a', OP_DELETE), e(1, 'a', OP_INSERT, '{"n":1}')];
    const copy = structuredClone(events);
    normalizeCaptured(events);
    expect(events).toEqual(copy);
  });
});

const SCHEMA_SQL = `
CREATE SCHEMA norm;
CREATE TABLE norm.items (
  _sync_scope_id TEXT NOT NULL,
  id TEXT NOT NULL,
  label TEXT NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
);
`;
const TABLES = [{ schema: 'norm', table: 'items', syncKeyColumn: 'id' }] as TableSpecs;

interface WireRow {
  schema: string;
  table: string;
  key: { id: string };
  op: string;
  row_version: number;
  payload?: { id: string; label: string } | null;
}

describe.each(BACKENDS)('normalisation end to end [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: SCHEMA_SQL,
      tables: TABLES,
      serviceOptions: { retention: { pruneIntervalMs: 0 } },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** One execWrite bundle; returns its committed rows as [op, key, label | null]. */
  async function write(user: string, fn: (tx: Queryable) => Promise<unknown>) {
    const r = await t.service.scopeManager.execWrite(user, { writerId: 'srv' }, fn);
    const page = ok(await t.committedRows(user, 'reader', r.bundle.bundleSeq));
    expect(page.row_count).toBe(page.rows.length);
    expect(await recomputeBundleHash(page.rows)).toBe(page.bundle_hash);
    const rows = page.rows as WireRow[];
    for (const row of rows) {
      expect(row.row_version).toBe(Number(r.bundle.bundleSeq));
      if (row.op === 'DELETE') expect(row.payload ?? null).toBeNull();
      else expect(row.payload?.id).toBe(row.key.id);
    }
    return {
      seq: Number(r.bundle.bundleSeq),
      rows: rows.map((row) => [row.op, row.key.id, row.payload?.label ?? null]),
    };
  }

  const insert = (tx: Queryable, id: string, label: string) =>
    tx.query('INSERT INTO norm.items (id, label) VALUES ($1, $2)', [id, label]);

  async function snapshot(user: string) {
    const s = await t.snapshotAll(user, 'reader');
    return s.rows.map((r) => [r.key.id, r.payload.label, r.row_version]);
  }

  async function rowState(user: string, key: string) {
    return t.database.query<{ bundle_seq: string; deleted: boolean }>(
      `SELECT rs.bundle_seq::text AS bundle_seq, rs.deleted FROM sync.row_state rs
         JOIN sync.user_state u USING (user_pk) WHERE u.user_id = $1 AND rs.key = $2`,
      [user, key],
    );
  }

  it('a key-changing UPDATE becomes DELETE(old key) + INSERT(new key)', async () => {
    const user = uniqueUser('keychange');
    const b1 = await write(user, async (tx) => {
      await insert(tx, 'a', 'A');
      await insert(tx, 'b', 'B');
    });
    expect(b1.rows).toEqual([
      ['INSERT', 'a', 'A'],
      ['INSERT', 'b', 'B'],
    ]);

    const b2 = await write(user, (tx) =>
      tx.query(`UPDATE norm.items SET id = 'a2' WHERE id = 'a' AND _sync_scope_id = $1`, [user]),
    );
    expect(b2.rows).toEqual([
      ['DELETE', 'a', null],
      ['INSERT', 'a2', 'A'],
    ]);
    expect(await rowState(user, 'a')).toEqual([{ bundle_seq: String(b2.seq), deleted: true }]);

    // One statement that renames one row and only relabels another.
    const b3 = await write(user, (tx) =>
      tx.query(
        `UPDATE norm.items SET id = CASE WHEN id = 'b' THEN 'b2' ELSE id END, label = label || '!'
          WHERE _sync_scope_id = $1`,
        [user],
      ),
    );
    expect(b3.rows[0]).toEqual(['DELETE', 'b', null]);
    expect(b3.rows.slice(1).sort()).toEqual([
      ['INSERT', 'b2', 'B!'],
      ['UPDATE', 'a2', 'A!'],
    ]);

    // Pull shows the same net effects.
    const pulled = await t.pullAll(user, 'reader');
    expect(
      pulled.bundles.map((b) => [b.bundle_seq, (b.rows as WireRow[]).map((r) => r.op)]),
    ).toEqual([
      [1, ['INSERT', 'INSERT']],
      [2, ['DELETE', 'INSERT']],
      [3, ['DELETE', expect.any(String), expect.any(String)]],
    ]);
    expect(await snapshot(user)).toEqual([
      ['a2', 'A!', 3],
      ['b2', 'B!', 3],
    ]);
  });

  it('renaming a row away and back in one transaction is a plain UPDATE', async () => {
    const user = uniqueUser('roundtrip');
    await write(user, (tx) => insert(tx, 'k', 'v1'));
    const b = await write(user, async (tx) => {
      await tx.query(`UPDATE norm.items SET id = 'tmp' WHERE id = 'k' AND _sync_scope_id = $1`, [
        user,
      ]);
      await tx.query(
        `UPDATE norm.items SET id = 'k', label = 'v2' WHERE id = 'tmp' AND _sync_scope_id = $1`,
        [user],
      );
    });
    expect(b.rows).toEqual([['UPDATE', 'k', 'v2']]);
    expect(await rowState(user, 'tmp')).toEqual([]);
  });

  it('an insert-then-delete in one execWrite produces no row', async () => {
    const user = uniqueUser('insdel');
    const b = await write(user, async (tx) => {
      await insert(tx, 'tmp', 'temporary');
      await insert(tx, 'keep', 'kept');
      await tx.query(`DELETE FROM norm.items WHERE id = 'tmp' AND _sync_scope_id = $1`, [user]);
    });
    expect(b.rows).toEqual([['INSERT', 'keep', 'kept']]);
    expect(await rowState(user, 'tmp')).toEqual([]);
    expect(await snapshot(user)).toEqual([['keep', 'kept', 1]]);

    // If that is all the transaction did, nothing was captured: no bundle at all.
    await expect(
      t.service.scopeManager.execWrite(user, { writerId: 'srv' }, async (tx) => {
        await insert(tx, 'tmp2', 'temporary');
        await tx.query(`DELETE FROM norm.items WHERE id = 'tmp2' AND _sync_scope_id = $1`, [user]);
      }),
    ).rejects.toMatchObject({ name: 'NoCapturedChangesError' });
    expect(await latestSeq(t, user)).toBe(1);
    expect(await rowState(user, 'tmp2')).toEqual([]);
  });

  it('delete-then-insert becomes UPDATE; several updates keep the last image; update-then-delete is DELETE', async () => {
    const user = uniqueUser('collapse');
    await write(user, async (tx) => {
      for (const id of ['d', 'u', 'x']) await insert(tx, id, `${id}0`);
    });
    const b = await write(user, async (tx) => {
      await tx.query(`DELETE FROM norm.items WHERE id = 'd' AND _sync_scope_id = $1`, [user]);
      await insert(tx, 'd', 'd-reborn');
      for (const label of ['u1', 'u2', 'u3']) {
        await tx.query(`UPDATE norm.items SET label = $2 WHERE id = 'u' AND _sync_scope_id = $1`, [
          user,
          label,
        ]);
      }
      await tx.query(`UPDATE norm.items SET label = 'x1' WHERE id = 'x' AND _sync_scope_id = $1`, [
        user,
      ]);
      await tx.query(`DELETE FROM norm.items WHERE id = 'x' AND _sync_scope_id = $1`, [user]);
      await insert(tx, 'n', 'n0');
      await tx.query(`UPDATE norm.items SET label = 'n1' WHERE id = 'n' AND _sync_scope_id = $1`, [
        user,
      ]);
    });
    expect(b.rows).toEqual([
      ['UPDATE', 'd', 'd-reborn'],
      ['UPDATE', 'u', 'u3'],
      ['DELETE', 'x', null],
      ['INSERT', 'n', 'n1'],
    ]);
    expect(await snapshot(user)).toEqual([
      ['d', 'd-reborn', 2],
      ['n', 'n1', 2],
      ['u', 'u3', 2],
    ]);
  });

  it('effects are ordered by the first touch of each row', async () => {
    const user = uniqueUser('order');
    await write(user, async (tx) => {
      for (const id of ['l', 'm']) await insert(tx, id, `${id}0`);
    });
    const b = await write(user, async (tx) => {
      await tx.query(`UPDATE norm.items SET label = 'm1' WHERE id = 'm' AND _sync_scope_id = $1`, [
        user,
      ]);
      await insert(tx, 'n', 'n0');
      await tx.query(`UPDATE norm.items SET label = 'l1' WHERE id = 'l' AND _sync_scope_id = $1`, [
        user,
      ]);
      await tx.query(`UPDATE norm.items SET label = 'm2' WHERE id = 'm' AND _sync_scope_id = $1`, [
        user,
      ]);
    });
    expect(b.rows).toEqual([
      ['UPDATE', 'm', 'm2'],
      ['INSERT', 'n', 'n0'],
      ['UPDATE', 'l', 'l1'],
    ]);
  });
});
