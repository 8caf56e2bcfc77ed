import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '@oversync/cli';
import type { Queryable, SyncDatabase } from '@oversync/server';
import {
  BACKENDS,
  bootService,
  canonicalRequestHash,
  createTestDatabase,
  ins,
  TestClient,
  type TestDatabase,
  uuid,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A database handle that fails the Nth statement from now with a connection-loss error. */
function faulty(inner: SyncDatabase) {
  let countdown = -1;
  let injected = 0;
  const maybeFail = () => {
    if (countdown < 0) return;
    if (countdown-- === 0) {
      injected++;
      throw Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      });
    }
  };
  const wrapQ = (q: Queryable): Queryable => ({
    async query(text, params) {
      maybeFail();
      return q.query(text, params);
    },
    async exec(sql) {
      maybeFail();
      return q.exec(sql);
    },
  });
  const db: SyncDatabase = {
    kind: inner.kind,
    ...wrapQ(inner),
    transaction: (fn, options) => inner.transaction((tx) => fn(wrapQ(tx)), options),
    listen: (channel, cb) => inner.listen(channel, cb),
    close: () => inner.close(),
  };
  return {
    db,
    failAfter(n: number) {
      countdown = n;
    },
    disarm() {
      countdown = -1;
    },
    get injected() {
      return injected;
    },
  };
}

describe.each(BACKENDS)('fault injection [%s]', (backend) => {
  let t: TestDatabase;
  let f: ReturnType<typeof faulty>;
  let client: TestClient;
  beforeAll(async () => {
    t = await createTestDatabase(backend);
    await t.exec(DEMO_SCHEMA_SQL);
    f = faulty(t.db);
    client = new TestClient(
      await bootService(f.db, DEMO_TABLES as never, { retention: { pruneIntervalMs: 0 } }),
    );
  });
  afterAll(async () => {
    await client?.service.close();
    await t?.dispose();
  });

  it('answers 503 service_unavailable with Retry-After when the database connection drops', async () => {
    await client.initEmpty('fi-503', 's');
    f.failAfter(0);
    const r = await client.req('GET', '/sync/pull', { user: 'fi-503', source: 's' });
    f.disarm();
    expect(r.status).toBe(503);
    expect(r.json.error).toBe('service_unavailable');
    expect(r.headers.get('retry-after')).toBe('1');
  });

  it('a push interrupted at any statement commits nothing, and retrying it commits exactly once', async () => {
    const user = 'fi-push';
    await client.initEmpty(user, 'dev');
    const rows = [
      ins('users', uuid(1), { name: 'A', email: 'a@x' }),
      ins('posts', uuid(2), { title: 't', content: 'c', author_id: uuid(1) }),
    ];
    const hash = await canonicalRequestHash(rows);
    let committed: { bundle_seq: number } | undefined;
    // Fail the 0th, 1st, 2nd … statement of the whole create → chunk → commit sequence until a
    // run gets through without hitting the fault.
    for (let n = 0; n < 200 && !committed; n++) {
      f.failAfter(n);
      const before = f.injected;
      const r = await client.pushBundle(user, 'dev', 1, rows, { canonicalRequestHash: hash });
      const failed = f.injected > before;
      f.disarm();
      const last = r.commit ?? r.chunks.at(-1) ?? r.create;
      // A fault in the post-commit wake-up NOTIFY is swallowed: the commit itself succeeded.
      if (failed && last.status !== 200) {
        expect(last.status, last.text).toBe(503);
        const log = await t.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM sync.bundle_log bl JOIN sync.user_state us USING (user_pk) WHERE us.user_id = $1`,
          [user],
        );
        // Either nothing committed, or the fault hit after COMMIT (then the retry replays it).
        expect(['0', '1']).toContain(log[0]?.n);
      } else {
        expect(
          [200].includes(last.status) || r.create.json?.status === 'already_committed',
          last.text,
        ).toBe(true);
        committed = r.commit?.json ?? r.create.json;
      }
    }
    expect(committed?.bundle_seq).toBe(1);
    const state = await t.query<{ bundles: string; users: string; posts: string }>(
      `SELECT (SELECT count(*) FROM sync.bundle_log bl JOIN sync.user_state us USING (user_pk) WHERE us.user_id = $1)::text AS bundles,
              (SELECT count(*) FROM business.users WHERE _sync_scope_id = $1)::text AS users,
              (SELECT count(*) FROM business.posts WHERE _sync_scope_id = $1)::text AS posts`,
      [user],
    );
    expect(state).toEqual([{ bundles: '1', users: '1', posts: '1' }]);
    expect(f.injected).toBeGreaterThan(5);
  });
});
