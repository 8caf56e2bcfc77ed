/**
 * Shared oversqlite contract fixtures replayed against the real server.
 *
 * The fixtures use schema `main`, table `users` with TEXT ids, so this file runs a service over
 * exactly that schema. Responses must have the fixture's member names, and equal values wherever
 * the value is deterministic. Cases that only describe client behaviour are listed in
 * packages/server/README.md, "Fixture cases not applied".
 */

import { readFileSync } from 'node:fs';
import {
  BACKENDS,
  canonicalRequestHash,
  contractsAvailable,
  FIXTURES_ABSENT,
  HEX64,
  type Json,
  loadContract,
  type PushRow,
  startTestServer,
  type TestServer,
  UUID_RE,
  uniqueUser,
} from '@oversync/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, keysOf, ok } from './helpers.js';

const fixturesPresent = contractsAvailable();
const push = fixturesPresent ? loadContract('push/basic-insert.json') : { cases: [] };
const pullSnapshot = fixturesPresent ? loadContract('pull-snapshot/basic.json') : { cases: [] };

function fixtureCase(file: Json, name: string): Json {
  const c = file.cases.find((x: Json) => x.name === name);
  if (!c) throw new Error(`fixture case ${name} not found`);
  return c;
}

/** Scope that owns the pre-populated (adopted) row. */
const ADOPTION_USER = 'fixture-adoption-user';

const MAIN_SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS main;
CREATE TABLE IF NOT EXISTS main.users (
  _sync_scope_id TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (_sync_scope_id, id)
);`;

const SEED_SQL = `INSERT INTO main.users (_sync_scope_id, id, name) VALUES ('${ADOPTION_USER}', 'adopted-user-1', 'Adopted');`;

const MAIN_TABLES = [{ schema: 'main', table: 'users', syncKeyColumn: 'id' }];

/** Fixture cases applied here, by file (everything else is listed in the README). */
const APPLIED_CASES: Record<string, string[]> = {
  'push/basic-insert.json': [
    'single-insert-commit',
    'server-wins-update-conflict',
    'already-committed-request-hash-mismatch-preserves-source-sequence-error',
  ],
  'pull-snapshot/basic.json': [
    'populated-adoption-baseline',
    'incremental-insert-delete',
    'history-pruned-fallback',
    'checkpoint-ahead-fallback',
    'source-replacement-snapshot',
    'source-replacement-invalid',
  ],
};

const row = (id: string, op: string, base: number, payload?: Json): PushRow => ({
  schema: 'main',
  table: 'users',
  key: { id },
  op,
  base_row_version: base,
  ...(payload === undefined ? {} : { payload }),
});

if (!fixturesPresent)
  describe.skip(FIXTURES_ABSENT, () => {
    it('push/basic-insert.json and pull-snapshot/basic.json replayed against the server', () => {});
  });

describe.skipIf(!fixturesPresent)('contract fixture coverage', () => {
  it('every case of the replayed files is applied or listed in README "Fixture cases not applied"', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('## Fixture cases not applied')[1] ?? '';
    expect(section, 'README section missing').not.toBe('');
    for (const [file, data] of [
      ['push/basic-insert.json', push],
      ['pull-snapshot/basic.json', pullSnapshot],
    ] as const) {
      for (const c of data.cases as Json[]) {
        const applied = APPLIED_CASES[file]?.includes(c.name) ?? false;
        const listed = section.includes(`| ${file} | ${c.name} |`);
        expect(applied !== listed, `${file} ${c.name}: applied=${applied} listed=${listed}`).toBe(
          true,
        );
      }
    }
  });
});

describe.skipIf(!fixturesPresent).each(BACKENDS)('contract fixtures [%s]', (backend) => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      backend,
      schemaSql: MAIN_SCHEMA_SQL,
      seedSql: SEED_SQL,
      tables: MAIN_TABLES as never,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Chunk-reads a snapshot session in one request (fixture sessions are tiny). */
  async function readSnapshot(user: string, source: string, body?: unknown) {
    const session = ok(await t.createSnapshot(user, source, body));
    const chunk = ok(
      await t.snapshotChunk(user, source, session.snapshot_id, {
        after_row_ordinal: 0,
        max_rows: 1000,
        max_bytes: 4_194_304,
      }),
    );
    return { session, chunk };
  }

  function expectSnapshotLike(actual: { session: Json; chunk: Json }, fixture: Json) {
    expect(keysOf(actual.session)).toEqual(keysOf(fixture.snapshotSession));
    expect(actual.session.snapshot_id).toMatch(UUID_RE);
    const { snapshot_id: _a, expires_at: _b, ...deterministic } = fixture.snapshotSession;
    expect(actual.session).toMatchObject(deterministic);
    expect(keysOf(actual.chunk)).toEqual(keysOf(fixture.snapshotChunkResponse));
    expect(actual.chunk).toEqual({
      ...fixture.snapshotChunkResponse,
      snapshot_id: actual.session.snapshot_id,
    });
  }

  describe('push/basic-insert.json', () => {
    it('single-insert-commit', async () => {
      const fx = fixtureCase(push, 'single-insert-commit');
      const user = uniqueUser('fx-insert');
      const source = 'source-fixture';
      await t.initEmpty(user, source);
      const rows = fx.pushChunkRequest.rows as PushRow[];
      const hash = await canonicalRequestHash(rows);
      const createBody = { ...fx.pushSessionCreateRequest, canonical_request_hash: hash };

      const create = ok(await t.createPush(user, source, createBody));
      expect(keysOf(create)).toEqual(keysOf(fx.pushSessionCreateResponse));
      expect(create).toEqual({
        ...fx.pushSessionCreateResponse,
        push_id: create.push_id,
        canonical_request_hash: hash,
      });
      expect(create.push_id).toMatch(UUID_RE);

      const chunk = ok(await t.chunk(user, source, create.push_id, 0, rows));
      expect(keysOf(chunk)).toEqual(keysOf(fx.pushChunkResponse));
      expect(chunk).toEqual({ ...fx.pushChunkResponse, push_id: create.push_id });

      const commit = ok(await t.commit(user, source, create.push_id));
      expect(keysOf(commit)).toEqual(keysOf(fx.pushCommitResponse));
      expect(commit.bundle_hash).toMatch(HEX64);
      expect(commit).toEqual({
        ...fx.pushCommitResponse,
        bundle_hash: commit.bundle_hash,
        canonical_request_hash: hash,
      });

      const replay = ok(await t.committedRows(user, source, commit.bundle_seq));
      expect(keysOf(replay)).toEqual(keysOf(fx.committedBundleRowsResponse));
      expect(replay).toEqual({
        ...fx.committedBundleRowsResponse,
        bundle_hash: commit.bundle_hash,
        canonical_request_hash: hash,
      });
    });

    it('server-wins-update-conflict', async () => {
      const fx = fixtureCase(push, 'server-wins-update-conflict');
      const user = uniqueUser('fx-conflict');
      await t.initEmpty(user);
      await t.pushOk(user, 'server-side', 1, [
        row('user-1', 'INSERT', 0, { id: 'user-1', name: 'First' }),
      ]);
      await t.pushOk(user, 'server-side', 2, [
        row('user-1', 'UPDATE', 1, { id: 'user-1', name: 'Server' }),
      ]);
      const res = await t.pushBundle(user, 'client', 1, [
        row('user-1', 'UPDATE', 0, { id: 'user-1', name: 'Client' }),
      ]);
      expectError(res.commit as never, 409, 'push_conflict');
      const body = res.commit?.json;
      expect(keysOf(body)).toEqual(keysOf(fx.pushConflictResponse));
      expect(body.conflict).toEqual(fx.pushConflictResponse.conflict);
    });

    it('already-committed-request-hash-mismatch-preserves-source-sequence-error', async () => {
      const fx = fixtureCase(
        push,
        'already-committed-request-hash-mismatch-preserves-source-sequence-error',
      );
      const user = uniqueUser('fx-already');
      const source = 'source-fixture';
      await t.initEmpty(user, source);
      const committedRows = [row('user-1', 'INSERT', 0, { id: 'user-1', name: 'Server Ada' })];
      const original = await canonicalRequestHash(committedRows);
      const commit = await t.pushOk(user, source, 1, committedRows);
      // The client retries the tuple with a different local outbox (different request hash).
      const localRows = [row('user-1', 'INSERT', 0, { id: 'user-1', name: 'Local Ada' })];
      const retryHash = await canonicalRequestHash(localRows);
      expect(retryHash).not.toBe(original);
      const create = ok(
        await t.createPush(user, source, {
          ...fx.pushSessionCreateRequest,
          canonical_request_hash: retryHash,
        }),
      );
      expect(keysOf(create)).toEqual(keysOf(fx.pushSessionCreateResponse));
      expect(create).toEqual({
        ...fx.pushSessionCreateResponse,
        source_id: source,
        bundle_hash: commit.bundle_hash,
        canonical_request_hash: original,
      });
      const replay = ok(await t.committedRows(user, source, 1));
      expect(keysOf(replay)).toEqual(keysOf(fx.committedBundleRowsResponse));
      expect(replay).toEqual({
        ...fx.committedBundleRowsResponse,
        source_id: source,
        bundle_hash: commit.bundle_hash,
        canonical_request_hash: original,
      });
    });
  });

  describe('pull-snapshot/basic.json', () => {
    it('populated-adoption-baseline', async () => {
      const fx = fixtureCase(pullSnapshot, 'populated-adoption-baseline');
      expect((await t.connect(ADOPTION_USER, 'client', false)).resolution).toBe(
        'remote_authoritative',
      );
      const pull = ok(
        await t.pull(ADOPTION_USER, 'client', { after_bundle_seq: fx.afterBundleSeq }),
      );
      expect(keysOf(pull)).toEqual(keysOf(fx.pullResponse));
      expect(pull.stable_bundle_seq).toBe(fx.pullResponse.stable_bundle_seq);
      expect(pull.has_more).toBe(false);
      expect(pull.bundles).toHaveLength(1);
      const [bundle] = pull.bundles;
      const fxBundle = fx.pullResponse.bundles[0];
      for (const k of Object.keys(fxBundle)) expect(bundle).toHaveProperty(k);
      expect(bundle.source_id).toMatch(
        /^oversync-adoption:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(bundle.bundle_seq).toBe(fxBundle.bundle_seq);
      expect(bundle.source_bundle_id).toBe(fxBundle.source_bundle_id);
      expect(bundle.rows).toEqual(fxBundle.rows);

      const snap = await readSnapshot(ADOPTION_USER, 'client');
      expectSnapshotLike(snap, fx);
      expect(snap.session.byte_count).toBe(130);
      expect(snap.chunk.byte_count).toBe(130);
    });

    it('incremental-insert-delete', async () => {
      const fx = fixtureCase(pullSnapshot, 'incremental-insert-delete');
      const user = uniqueUser('fx-incr');
      await t.initEmpty(user);
      await t.pushOk(user, 'remote-source', 1, [
        row('user-1', 'INSERT', 0, { id: 'user-1', name: 'Ada' }),
      ]);
      await t.pushOk(user, 'remote-source', 2, [row('user-1', 'DELETE', 1)]);
      const pull = ok(await t.pull(user, 'client', { after_bundle_seq: fx.afterBundleSeq }));
      expect(keysOf(pull)).toEqual(keysOf(fx.pullResponse));
      expect(pull.stable_bundle_seq).toBe(2);
      expect(pull.has_more).toBe(false);
      expect(pull.bundles).toHaveLength(fx.pullResponse.bundles.length);
      for (const [i, fxBundle] of fx.pullResponse.bundles.entries()) {
        const b = pull.bundles[i];
        for (const k of Object.keys(fxBundle)) expect(b).toHaveProperty(k);
        const { rows: fxRows, ...meta } = fxBundle;
        expect(b).toMatchObject(meta);
        // Rows exactly, including the DELETE row's `"payload": null`.
        expect(b.rows).toStrictEqual(fxRows);
      }
    });

    it('history-pruned-fallback', async () => {
      const fx = fixtureCase(pullSnapshot, 'history-pruned-fallback');
      const user = uniqueUser('fx-pruned');
      await t.initEmpty(user);
      await t.pushOk(user, 'remote', 1, [row('user-1', 'INSERT', 0, { id: 'user-1', name: 'v1' })]);
      for (let v = 2; v <= 7; v++) {
        const name = v === 7 ? 'Snapshot' : `v${v}`;
        await t.pushOk(user, 'remote', v, [row('user-1', 'UPDATE', v - 1, { id: 'user-1', name })]);
      }
      await t.service.setRetainedFloor(user, 2);
      const r = await t.pull(user, 'client', { after_bundle_seq: fx.afterBundleSeq });
      expect(r.status).toBe(fx.historyPrunedResponse.status);
      expect(keysOf(r.json)).toEqual(keysOf(fx.historyPrunedResponse.body));
      expect(r.json.error).toBe(fx.historyPrunedResponse.body.error);
      expectSnapshotLike(await readSnapshot(user, 'client'), fx);
    });

    it('checkpoint-ahead-fallback', async () => {
      const fx = fixtureCase(pullSnapshot, 'checkpoint-ahead-fallback');
      const user = uniqueUser('fx-ahead');
      await t.initEmpty(user);
      await t.pushOk(user, 'remote', 1, [row('user-1', 'INSERT', 0, { id: 'user-1', name: 'v1' })]);
      for (let v = 2; v <= 7; v++) {
        const name = v === 7 ? 'Recovered' : `v${v}`;
        await t.pushOk(user, 'remote', v, [row('user-1', 'UPDATE', v - 1, { id: 'user-1', name })]);
      }
      const r = await t.pull(user, 'client', { after_bundle_seq: fx.afterBundleSeq });
      expect(r.status).toBe(fx.checkpointAheadResponse.status);
      expect(r.json).toEqual(fx.checkpointAheadResponse.body);
      expectSnapshotLike(await readSnapshot(user, 'client'), fx);
    });

    it('source-replacement-snapshot', async () => {
      const fx = fixtureCase(pullSnapshot, 'source-replacement-snapshot');
      const replacement = fx.snapshotSessionCreateRequest.source_replacement;
      const user = uniqueUser('fx-replace');
      await t.initEmpty(user);
      const src = replacement.previous_source_id;
      // Nine bundles that end with every row deleted.
      const ids = ['a', 'b', 'c', 'd', 'e'];
      for (const [i, id] of ids.entries()) {
        await t.pushOk(user, src, i + 1, [row(id, 'INSERT', 0, { id, name: id })]);
      }
      await t.pushOk(user, src, 6, [row('a', 'DELETE', 1)]);
      await t.pushOk(user, src, 7, [row('b', 'DELETE', 2)]);
      await t.pushOk(user, src, 8, [row('c', 'DELETE', 3)]);
      await t.pushOk(user, src, 9, [row('d', 'DELETE', 4), row('e', 'DELETE', 5)]);
      const snap = await readSnapshot(user, src, fx.snapshotSessionCreateRequest);
      expectSnapshotLike(snap, fx);
      // The new source is reserved and starts at 1; the previous one is retired.
      const retired = await t.createPush(user, src, {
        source_bundle_id: 10,
        planned_row_count: 1,
        canonical_request_hash: 'a'.repeat(64),
      });
      expectError(retired, 409, 'source_retired');
      expect(retired.json).toMatchObject({
        source_id: src,
        replaced_by_source_id: replacement.new_source_id,
      });
      const c = await t.pushOk(user, replacement.new_source_id, 1, [
        row('f', 'INSERT', 0, { id: 'f', name: 'after' }),
      ]);
      expect(c.bundle_seq).toBe(10);
    });

    it('source-replacement-invalid', async () => {
      const fx = fixtureCase(pullSnapshot, 'source-replacement-invalid');
      const user = uniqueUser('fx-replinv');
      await t.initEmpty(user);
      await t.pushOk(user, 'old', 1, [row('x', 'INSERT', 0, { id: 'x', name: 'x' })]);
      await t.pushOk(user, 'already-known', 1, [row('y', 'INSERT', 0, { id: 'y', name: 'y' })]);
      const r = await t.createSnapshot(user, 'old', {
        source_replacement: {
          previous_source_id: 'old',
          new_source_id: 'already-known',
          reason: 'source_sequence_changed',
        },
      });
      expect(r.status).toBe(fx.sourceReplacementInvalidResponse.status);
      expect(keysOf(r.json)).toEqual(keysOf(fx.sourceReplacementInvalidResponse.body));
      expect(r.json.error).toBe(fx.sourceReplacementInvalidResponse.body.error);
    });
  });
});
