/**
 * Multi-device end-to-end scenarios against the real server: isolation between users, offline
 * edits, foreign keys (parent/child, ON DELETE CASCADE, the teams ↔ team_members cycle, BLOB
 * keys) and exact round trips of every `typed_rows` value type.
 */

import { BACKENDS, uniqueUser } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidToBytes } from './support/compare.js';
import {
  Device,
  type E2eServer,
  expectConverged,
  newId,
  startE2eServer,
  syncAll,
  TempFiles,
} from './support/harness.js';

describe.each(BACKENDS)('multi-device e2e [%s]', (backend) => {
  let server: E2eServer;
  const files = new TempFiles();
  const open: Device[] = [];

  beforeAll(async () => {
    server = await startE2eServer(backend);
  });
  afterAll(async () => {
    for (const d of open) await d.close();
    await server?.close();
    files.cleanup();
  });

  async function device(user: string, label: string): Promise<Device> {
    const d = await Device.open(server, { user, file: files.file(label), label });
    open.push(d);
    return d;
  }

  it('three clients, two users: A’s two devices converge and B never sees A’s rows', async () => {
    const userA = uniqueUser('iso-a');
    const userB = uniqueUser('iso-b');
    const a1 = await device(userA, 'a1');
    const a2 = await device(userA, 'a2');
    const b1 = await device(userB, 'b1');
    expect(await a1.attach()).toBe('started_empty');

    const aIds = [newId(), newId(), newId()];
    for (const [i, id] of aIds.entries()) await a1.insertUser(id, `A${i}`);
    const r1 = await a1.client.sync();
    expect(r1.push.outcome).toBe('committed');
    expect(r1.status.pending.pendingRowCount).toBe(0);

    expect(await a2.attach()).toBe('used_remote_state');
    expect(await b1.attach()).toBe('started_empty');

    // B writes a row that reuses one of A's ids: scopes are separate, nothing leaks.
    const shared = aIds[0] as string;
    await b1.insertUser(shared, 'B-owned');
    const bOnly = newId();
    await b1.insertUser(bOnly, 'B1');
    await b1.client.sync();

    await a2.updateUser(aIds[1] as string, 'A1-edited-on-a2');
    await a2.client.sync();
    await a1.client.sync();
    await b1.client.sync();

    const remoteA = await expectConverged(server, userA, [a1, a2]);
    const remoteB = await expectConverged(server, userB, [b1]);
    expect(remoteA.users.map((u) => [u.id, u.name])).toEqual(
      [
        [aIds[0], 'A0'],
        [aIds[1], 'A1-edited-on-a2'],
        [aIds[2], 'A2'],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(remoteB.users.map((u) => [u.id, u.name]).sort()).toEqual(
      [
        [shared, 'B-owned'],
        [bOnly, 'B1'],
      ].sort(),
    );
    const bNames = (await b1.tables()).users.map((u) => u.name);
    expect(bNames.some((n) => n?.startsWith('A'))).toBe(false);

    // B deletes the shared id: A's row of the same id is untouched.
    await b1.deleteUser(shared);
    await b1.client.sync();
    await syncAll([a1, a2]);
    expect(await a1.userName(shared)).toBe('A0');
    expect(await a2.userName(shared)).toBe('A0');
    await expectConverged(server, userA, [a1, a2]);
    await expectConverged(server, userB, [b1]);
    // A's bundles never reach B's pull and vice versa.
    const bBundles = await server.bundles(userB);
    expect(bBundles.flatMap((b) => b.rows).some((r) => r.payload?.name?.startsWith('A'))).toBe(
      false,
    );
  });

  it('offline edits on both devices of a user converge after reconnecting', async () => {
    const user = uniqueUser('offline');
    const a1 = await device(user, 'off-a1');
    const a2 = await device(user, 'off-a2');
    await a1.attach();
    const ids = Array.from({ length: 6 }, () => newId());
    for (const [i, id] of ids.entries()) await a1.insertUser(id, `u${i}`);
    await a1.client.sync();
    await a2.attach();

    a1.net.offline = true;
    a2.net.offline = true;
    // a1: update u0, delete u1, insert n1; a2: update u2, delete u3, insert n2, edit then delete n3.
    await a1.updateUser(ids[0] as string, 'u0-a1');
    await a1.deleteUser(ids[1] as string);
    const n1 = newId();
    await a1.insertUser(n1, 'n1');
    await a2.updateUser(ids[2] as string, 'u2-a2');
    await a2.deleteUser(ids[3] as string);
    const n2 = newId();
    await a2.insertUser(n2, 'n2');
    const n3 = newId();
    await a2.insertUser(n3, 'n3');
    await a2.updateUser(n3, 'n3-edited');
    await a2.deleteUser(n3);

    await expect(a1.client.sync()).rejects.toThrow();
    await expect(a2.client.sync()).rejects.toThrow();
    expect(await a1.pending()).toBe(3);
    // n3 was inserted and deleted without ever syncing: it may stay pending as a no-op marker,
    // but it must never reach the server.
    expect(await a2.pending()).toBeGreaterThanOrEqual(3);

    a1.net.offline = false;
    a2.net.offline = false;
    await syncAll([a1, a2, a1]);
    const remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.users.map((u) => u.name).sort()).toEqual(
      ['u0-a1', 'u2-a2', 'u4', 'u5', 'n1', 'n2'].sort(),
    );
    const rows = (await server.bundles(user)).flatMap((b) => b.rows);
    expect(rows.some((r) => r.key.id === n3)).toBe(false);
  });

  it('FK parent/child inserts and ON DELETE CASCADE (categories tree, files/reviews with BLOB keys)', async () => {
    const user = uniqueUser('fk');
    const a1 = await device(user, 'fk-a1');
    const a2 = await device(user, 'fk-a2');
    await a1.attach();
    await a2.attach();

    // Children inserted before parents in one transaction (deferred FKs).
    const author = newId();
    const posts = [newId(), newId()];
    const root = newId();
    const child = newId();
    const grandchild = newId();
    const file = newId();
    const reviews = [newId(), newId()];
    await a1.tx([
      [
        'INSERT INTO posts(id, title, content, author_id) VALUES (?, ?, ?, ?)',
        [posts[0] as string, 't0', 'c0', author],
      ],
      [
        'INSERT INTO posts(id, title, content, author_id) VALUES (?, ?, ?, ?)',
        [posts[1] as string, 't1', 'c1', author],
      ],
      ['INSERT INTO users(id, name, email) VALUES (?, ?, ?)', [author, 'Author', 'a@x.io']],
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, ?)', [grandchild, 'gc', child]],
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, ?)', [child, 'c', root]],
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, NULL)', [root, 'root']],
      [
        'INSERT INTO file_reviews(id, review, file_id) VALUES (?, ?, ?)',
        [uuidToBytes(reviews[0] as string), 'ok', uuidToBytes(file)],
      ],
      [
        'INSERT INTO file_reviews(id, review, file_id) VALUES (?, ?, ?)',
        [uuidToBytes(reviews[1] as string), 'meh', uuidToBytes(file)],
      ],
      [
        'INSERT INTO files(id, name, data) VALUES (?, ?, ?)',
        [uuidToBytes(file), 'f.bin', new Uint8Array([0, 1, 2, 255])],
      ],
    ]);
    await a1.client.sync();
    await a2.client.sync();
    let remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.categories).toHaveLength(3);
    expect(remote.file_reviews).toHaveLength(2);
    expect(remote.posts.every((p) => p.author_id === author)).toBe(true);

    // Local cascade on a1: deleting the root removes the subtree; deleting the file its reviews.
    await a1.run('DELETE FROM categories WHERE id = ?', [root]);
    await a1.run('DELETE FROM files WHERE id = ?', [uuidToBytes(file)]);
    expect(await a1.count('categories')).toBe(0);
    expect(await a1.count('file_reviews')).toBe(0);
    await a1.client.sync();
    await a2.client.sync();
    remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.categories).toEqual([]);
    expect(remote.files).toEqual([]);
    expect(remote.file_reviews).toEqual([]);

    // Server-side cascade: a server write deletes a parent; the cascaded child deletes arrive too.
    const p = newId();
    const k1 = newId();
    const k2 = newId();
    await a2.tx([
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, NULL)', [p, 'p']],
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, ?)', [k1, 'k1', p]],
      ['INSERT INTO categories(id, name, parent_id) VALUES (?, ?, ?)', [k2, 'k2', k1]],
    ]);
    await a2.client.sync();
    await a1.client.sync();
    expect(await a1.count('categories')).toBe(3);
    await server.execWrite(user, (tx) =>
      tx.query('DELETE FROM business.categories WHERE _sync_scope_id = $1 AND id = $2', [user, p]),
    );
    const pulled = await a1.client.pullToStable();
    expect(pulled.outcome).toBe('applied_incremental');
    await a2.client.sync();
    remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.categories).toEqual([]);

    // Posts keep pointing at their author after an author rename on the other device.
    await a2.run('UPDATE users SET name = ? WHERE id = ?', ['Renamed', author]);
    await a2.client.sync();
    await a1.client.sync();
    await expectConverged(server, user, [a1, a2]);
    const fk = await a1.all('PRAGMA foreign_key_check');
    expect(fk).toEqual([]);
  });

  it('the teams ↔ team_members foreign-key cycle syncs in both directions and cascades', async () => {
    const user = uniqueUser('cycle');
    const a1 = await device(user, 'cy-a1');
    const a2 = await device(user, 'cy-a2');
    await a1.attach();
    await a2.attach();
    const team = newId();
    const captain = newId();
    const member = newId();
    await a1.tx([
      ['INSERT INTO teams(id, name, captain_member_id) VALUES (?, ?, ?)', [team, 'Red', captain]],
      ['INSERT INTO team_members(id, name, team_id) VALUES (?, ?, ?)', [captain, 'Cap', team]],
      ['INSERT INTO team_members(id, name, team_id) VALUES (?, ?, ?)', [member, 'Mem', team]],
    ]);
    await a1.client.sync();
    await a2.client.sync();
    let remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.teams).toEqual([{ id: team, name: 'Red', captain_member_id: captain }]);
    expect(remote.team_members).toHaveLength(2);

    // Change the captain on a2 (both sides of the cycle in one bundle).
    const newCaptain = newId();
    await a2.tx([
      ['INSERT INTO team_members(id, name, team_id) VALUES (?, ?, ?)', [newCaptain, 'New', team]],
      ['UPDATE teams SET captain_member_id = ? WHERE id = ?', [newCaptain, team]],
      ['DELETE FROM team_members WHERE id = ?', [captain]],
    ]);
    await a2.client.sync();
    await a1.client.sync();
    remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.teams[0]?.captain_member_id).toBe(newCaptain);

    // Deleting the team cascades to its members (and the captain reference goes with them).
    await a1.run('DELETE FROM teams WHERE id = ?', [team]);
    expect(await a1.count('team_members')).toBe(0);
    await a1.client.sync();
    await a2.client.sync();
    remote = await expectConverged(server, user, [a1, a2]);
    expect(remote.teams).toEqual([]);
    expect(remote.team_members).toEqual([]);
  });

  it('every typed_rows value type round-trips exactly client → server → other client', async () => {
    const user = uniqueUser('typed');
    const a1 = await device(user, 'ty-a1');
    const a2 = await device(user, 'ty-a2');
    await a1.attach();
    await a2.attach();

    const bytes = new Uint8Array(256).map((_, i) => i);
    const rows: Record<string, unknown[]> = {
      max: [
        newId(),
        'max',
        'héllo 🌍 "quoted" \\ \n\t\u0001 end',
        9223372036854775807n,
        32767,
        2147483647,
        '12345678901234567890.1234567890',
        1,
        1.7976931348623157e308,
        3.4028234663852886e38,
        bytes,
        '2024-02-29T23:59:59.123456Z',
      ],
      min: [
        newId(),
        'min',
        '',
        -9223372036854775808n,
        -32768,
        -2147483648,
        '-0.0000000001',
        0,
        5e-324,
        -1.2345678,
        new Uint8Array([255, 0, 128]),
        '1970-01-01T00:00:00Z',
      ],
      unsafe: [
        newId(),
        'unsafe',
        'beyond 2^53',
        9007199254740993n,
        0,
        -1,
        '0',
        1,
        0.1,
        0.5,
        new Uint8Array([1]),
        '2024-01-01T00:00:00+05:30',
      ],
      nulls: [newId(), 'nulls', null, null, null, null, null, 0, null, null, null, null],
      zeroish: [
        newId(),
        'zeroish',
        '0',
        0,
        0,
        0,
        '0.0000000000',
        0,
        -0,
        1 / 3,
        new Uint8Array([0, 0, 0, 0]),
        '2000-01-01T12:00:00.5Z',
      ],
    };
    for (const values of Object.values(rows)) {
      await a1.run(
        `INSERT INTO typed_rows(id, name, note, count_value, small_count, medium_count, exact_amount,
           enabled_flag, rating, float4_value, data, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
        values as never,
      );
    }
    await a1.client.sync();
    await a2.client.sync();
    const remote = await expectConverged(server, user, [a1, a2]);
    const byName = Object.fromEntries(remote.typed_rows.map((r) => [r.name, r]));

    expect(byName.max).toMatchObject({
      note: 'héllo 🌍 "quoted" \\ \n\t\u0001 end',
      count_value: '9223372036854775807',
      small_count: '32767',
      medium_count: '2147483647',
      exact_amount: '12345678901234567890.1234567890',
      enabled_flag: 'true',
      rating: '1.7976931348623157e+308',
      float4_value: '3.4028234663852886e+38',
      data: Buffer.from(bytes).toString('hex'),
      created_at: '2024-02-29T23:59:59.123456Z',
    });
    expect(byName.min).toMatchObject({
      note: '',
      count_value: '-9223372036854775808',
      small_count: '-32768',
      medium_count: '-2147483648',
      exact_amount: '-0.0000000001',
      enabled_flag: 'false',
      rating: '5e-324',
      // float4 column: the server stores the nearest float4 and every client applies its spelling.
      float4_value: String(Math.fround(-1.2345678)),
      data: 'ff0080',
      created_at: '1970-01-01T00:00:00Z',
    });
    expect(byName.unsafe).toMatchObject({
      count_value: '9007199254740993',
      exact_amount: '0.0000000000',
      rating: '0.1',
      float4_value: '0.5',
      // An offset timestamp is stored as the instant, spelled in UTC by the server.
      created_at: '2023-12-31T18:30:00Z',
    });
    expect(byName.nulls).toEqual({
      id: expect.any(String),
      name: 'nulls',
      note: null,
      count_value: null,
      small_count: null,
      medium_count: null,
      exact_amount: null,
      enabled_flag: 'false',
      rating: null,
      float4_value: null,
      data: null,
      created_at: null,
    });
    expect(byName.zeroish).toMatchObject({
      note: '0',
      count_value: '0',
      rating: '0',
      float4_value: String(Math.fround(1 / 3)),
      data: '00000000',
      created_at: '2000-01-01T12:00:00.5Z',
    });

    // SQLite storage classes on the receiving client are the declared ones (no TEXT integers).
    const types = await a2.all(
      `SELECT name, typeof(count_value) AS cv, typeof(small_count) AS sc, typeof(exact_amount) AS ea,
              typeof(enabled_flag) AS ef, typeof(rating) AS ra, typeof(float4_value) AS f4,
              typeof(data) AS da, typeof(created_at) AS ca
         FROM typed_rows WHERE name = 'max'`,
    );
    expect(types).toEqual([
      {
        name: 'max',
        cv: 'integer',
        sc: 'integer',
        ea: 'text',
        ef: 'integer',
        ra: 'real',
        f4: 'real',
        da: 'blob',
        ca: 'text',
      },
    ]);
    const exact = await a2.all<{ v: bigint }>(
      "SELECT count_value AS v FROM typed_rows WHERE name IN ('max', 'min', 'unsafe') ORDER BY count_value",
    );
    expect(exact.map((r) => BigInt(r.v))).toEqual([
      -9223372036854775808n,
      9007199254740993n,
      9223372036854775807n,
    ]);

    // Update every value on a2 and send it back.
    const maxId = byName.max?.id as string;
    await a2.run(
      `UPDATE typed_rows SET note = NULL, count_value = -1, exact_amount = '0.5', enabled_flag = 0,
         rating = -2.5, data = x'', created_at = '2030-06-01T10:20:30.000001Z' WHERE id = ?`,
      [maxId],
    );
    await a2.client.sync();
    await a1.client.sync();
    const after = await expectConverged(server, user, [a1, a2]);
    expect(after.typed_rows.find((r) => r.id === maxId)).toMatchObject({
      note: null,
      count_value: '-1',
      exact_amount: '0.5000000000',
      enabled_flag: 'false',
      rating: '-2.5',
      data: '',
      created_at: '2030-06-01T10:20:30.000001Z',
    });
  });

  it('tablesChanged and progress events report what sync changed', async () => {
    const user = uniqueUser('events');
    const a1 = await device(user, 'ev-a1');
    const a2 = await device(user, 'ev-a2');
    await a1.attach();
    await a2.attach();
    const changed: string[][] = [];
    const progress: string[] = [];
    a2.client.on('tablesChanged', (e) => changed.push([...e.tables]));
    a2.client.on('progress', (e) => progress.push(e.operation));
    await a1.insertUser(newId(), 'Evt');
    await a1.run('INSERT INTO categories(id, name) VALUES (?, ?)', [newId(), 'cat']);
    await a1.client.sync();
    const r = await a2.client.pullToStable();
    expect(r.outcome).toBe('applied_incremental');
    expect([...r.updatedTables].sort()).toEqual(['categories', 'users']);
    expect(changed.flat().sort()).toEqual(['categories', 'users']);
    expect(progress).toContain('pull');
    const again = await a2.client.pullToStable();
    expect(again.outcome).toBe('already_at_target');
  });
});
