import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { jwtAuth } from '@oversync/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  parseConfig,
  resolveAuthOptions,
} from '../src/config-file.js';
import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '../src/demo-schema.js';
import { createDevApp, type DevService } from '../src/dev-routes.js';
import { loadOrCreateDevSecret } from '../src/dev-secret.js';
import type { CliIo } from '../src/io.js';
import { acquireLock, LockHeldError, lockHolder, readLockOwner } from '../src/lock-file.js';
import { createProgram } from '../src/program.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const scratch = mkdtempSync(join(tmpdir(), 'oversync-cli-test-'));
let counter = 0;
const freshDir = () => join(scratch, `d${++counter}`);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bearer(token: string): Request {
  return new Request('http://localhost/sync/capabilities', {
    headers: { authorization: `Bearer ${token}` },
  });
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid ?? 999_999_999;
}

describe('lock file', () => {
  it('refuses a second lock while held and frees it on release', () => {
    const path = join(scratch, 'lock-a');
    const lock = acquireLock(path);
    expect(readLockOwner(path)).toBe(process.pid);
    expect(lockHolder(path)).toBe(process.pid);
    expect(() => acquireLock(path)).toThrow(LockHeldError);
    try {
      acquireLock(path);
    } catch (error) {
      expect((error as LockHeldError).pid).toBe(process.pid);
    }
    lock.release();
    expect(existsSync(path)).toBe(false);
    lock.release(); // idempotent
    acquireLock(path).release();
  });

  it('refuses a lock held by another live process', async () => {
    const path = join(scratch, 'lock-b');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
      stdio: 'ignore',
    });
    try {
      expect(child.pid).toBeTypeOf('number');
      writeFileSync(path, `${child.pid}\n`);
      expect(() => acquireLock(path)).toThrow(/held by the running process/);
    } finally {
      child.kill();
    }
    await new Promise((done) => child.once('exit', done));
    // Now the holder is gone: the lock is stale and is taken over.
    const lock = acquireLock(path);
    expect(readLockOwner(path)).toBe(process.pid);
    lock.release();
  });

  it('takes over stale and unreadable locks', () => {
    const path = join(scratch, 'lock-c');
    writeFileSync(path, `${deadPid()}\n`);
    expect(lockHolder(path)).toBeNull();
    const lock = acquireLock(path);
    expect(readLockOwner(path)).toBe(process.pid);
    lock.release();

    writeFileSync(path, 'garbage');
    const again = acquireLock(path);
    expect(readLockOwner(path)).toBe(process.pid);
    again.release();
  });

  it('does not remove a lock someone else took over', () => {
    const path = join(scratch, 'lock-d');
    const lock = acquireLock(path);
    writeFileSync(path, `${deadPid()}\n`);
    lock.release();
    expect(existsSync(path)).toBe(true);
  });
});

describe('dev secret', () => {
  it('is created once with mode 0600 and then reused', () => {
    const dir = freshDir();
    const first = loadOrCreateDevSecret(dir, {});
    expect(first.source).toBe('created');
    expect(first.secret.length).toBeGreaterThanOrEqual(40);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateDevSecret(dir, {});
    expect(second).toEqual({ ...first, source: 'file' });
  });

  it('prefers a non-empty JWT_SECRET and then creates no file', () => {
    const dir = freshDir();
    const fromEnv = loadOrCreateDevSecret(dir, { JWT_SECRET: 'from-env' });
    expect(fromEnv).toMatchObject({ secret: 'from-env', source: 'env' });
    expect(existsSync(fromEnv.path)).toBe(false);
    expect(loadOrCreateDevSecret(dir, { JWT_SECRET: '' }).source).toBe('created');
  });

  it('refuses an empty secret file', () => {
    const dir = freshDir();
    const { path } = loadOrCreateDevSecret(dir, {});
    writeFileSync(path, '\n');
    expect(() => loadOrCreateDevSecret(dir, {})).toThrow(/is empty/);
  });
});

describe('config file', () => {
  const valid = {
    tables: [{ schema: 'business', table: 'users', syncKeyColumn: 'id' }],
    appName: 'my-app',
    basePath: '/api',
    cors: { origins: ['https://app.example.com'] },
    auth: { secretEnv: 'MY_SECRET', issuer: ['a', 'b'], audience: 'sync' },
  };

  it('accepts a valid config', () => {
    expect(parseConfig(valid)).toEqual(valid);
    expect(parseConfig({ ...valid, cors: { origins: '*' } }).cors).toEqual({ origins: '*' });
  });

  it('lists every issue with its path', () => {
    let error: unknown;
    try {
      parseConfig({
        tables: [{ schema: 'business', table: '', syncKeyColumn: 'id', extra: 1 }],
        basePath: 'api/',
        cors: { origins: 42 },
        auth: { secret: 's', jwksUrl: 'https://idp.example.com/jwks' },
        tabels: [],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        'tables.0.table: must not be empty',
        'tables.0.extra: unknown key',
        'tabels: unknown key',
        'basePath: must be empty or start with "/" and have no trailing "/"',
        expect.stringMatching(/^cors/),
      ]),
    );
    expect((error as Error).message).toContain('tables.0.table: must not be empty');
  });

  it('requires tables and exactly one auth key source', () => {
    expect(() => parseConfig({ auth: { secret: 's' } })).toThrow(/tables: is required/);
    expect(() => parseConfig({ tables: [], auth: { secret: 's' } })).toThrow(
      /must list at least one table/,
    );
    expect(() => parseConfig({ tables: valid.tables, auth: {} })).toThrow(/exactly one of/);
    expect(() => parseConfig({ tables: valid.tables })).toThrow(/auth: is required/);
    expect(() => parseConfig({ ...valid, tables: [valid.tables[0], valid.tables[0]] })).toThrow(
      /appear once/,
    );
  });

  it('reports unreadable files and bad JSON', async () => {
    const path = join(scratch, 'config.json');
    writeFileSync(path, '{"tables": ');
    await expect(loadConfigFile(path)).rejects.toThrow(/not valid JSON/);
    await expect(loadConfigFile(join(scratch, 'missing.json'))).rejects.toThrow(/cannot read/);
    writeFileSync(path, JSON.stringify(valid));
    await expect(loadConfigFile(path)).resolves.toEqual(valid);
  });

  it('resolves secretEnv from the environment', () => {
    const config = parseConfig(valid);
    expect(resolveAuthOptions(config.auth, { MY_SECRET: 'xyz' })).toEqual({
      secret: 'xyz',
      issuer: ['a', 'b'],
      audience: 'sync',
    });
    expect(() => resolveAuthOptions(config.auth, {})).toThrow(/MY_SECRET is not set/);
  });
});

describe('demo schema', () => {
  let pg: PGlite;
  beforeAll(async () => {
    pg = await PGlite.create();
  });
  afterAll(async () => {
    await pg?.close();
  });

  it('applies twice (idempotent) and creates the eight tables', async () => {
    await pg.exec(DEMO_SCHEMA_SQL);
    await pg.exec(DEMO_SCHEMA_SQL);
    const tables = await pg.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'business'`,
    );
    expect(tables.rows.map((r) => r.table_name).sort()).toEqual(
      DEMO_TABLES.map((t) => t.table).sort(),
    );
    expect(DEMO_TABLES).toHaveLength(8);
    expect(DEMO_TABLES.every((t) => t.schema === 'business' && t.syncKeyColumn === 'id')).toBe(
      true,
    );

    const fks = await pg.query<{ name: string; deferred: boolean; cascade: boolean; cols: number }>(
      `SELECT conrelid::regclass::text AS name, condeferrable AND condeferred AS deferred,
              confdeltype = 'c' AS cascade, cardinality(conkey) AS cols
         FROM pg_constraint WHERE contype = 'f' AND connamespace = 'business'::regnamespace
        ORDER BY 1`,
    );
    expect(fks.rows).toEqual([
      { name: 'business.categories', deferred: true, cascade: true, cols: 2 },
      { name: 'business.file_reviews', deferred: true, cascade: true, cols: 2 },
      { name: 'business.posts', deferred: true, cascade: false, cols: 2 },
      { name: 'business.team_members', deferred: true, cascade: true, cols: 2 },
      { name: 'business.teams', deferred: true, cascade: false, cols: 2 },
    ]);

    const pks = await pg.query<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE contype = 'p' AND connamespace = 'business'::regnamespace`,
    );
    expect(pks.rows).toHaveLength(8);
    expect(new Set(pks.rows.map((r) => r.def))).toEqual(
      new Set(['PRIMARY KEY (_sync_scope_id, id)']),
    );
  });

  it('has the typed_rows column types of the rich schema', async () => {
    const cols = await pg.query<{ column_name: string; type: string; nullable: string }>(
      `SELECT column_name, format_type(atttypid, atttypmod) AS type, is_nullable AS nullable
         FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 'business.typed_rows'::regclass AND a.attname = c.column_name
        WHERE table_schema = 'business' AND table_name = 'typed_rows' ORDER BY ordinal_position`,
    );
    expect(cols.rows.map((r) => `${r.column_name} ${r.type} ${r.nullable}`)).toEqual([
      '_sync_scope_id text NO',
      'id uuid NO',
      'name text NO',
      'note text YES',
      'count_value bigint YES',
      'small_count smallint YES',
      'medium_count integer YES',
      'exact_amount numeric(30,10) YES',
      'enabled_flag boolean NO',
      'rating double precision YES',
      'float4_value real YES',
      'data bytea YES',
      'created_at timestamp with time zone YES',
    ]);
  });

  it('accepts the teams ⇄ team_members cycle in one transaction and cascades', async () => {
    const team = '00000000-0000-4000-8000-000000000001';
    const member = '00000000-0000-4000-8000-000000000002';
    await pg.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO business.teams (_sync_scope_id, id, name, captain_member_id) VALUES ('u1', $1, 't', $2)`,
        [team, member],
      );
      await tx.query(
        `INSERT INTO business.team_members (_sync_scope_id, id, name, team_id) VALUES ('u1', $1, 'm', $2)`,
        [member, team],
      );
    });
    // The same ids in another scope do not satisfy the scope-inclusive keys.
    await expect(
      pg.query(
        `INSERT INTO business.team_members (_sync_scope_id, id, name, team_id) VALUES ('u2', $1, 'm', $2)`,
        [member, team],
      ),
    ).rejects.toThrow(/foreign key/);
    await pg.transaction(async (tx) => {
      await tx.query(`UPDATE business.teams SET captain_member_id = NULL WHERE id = $1`, [team]);
      await tx.query(`DELETE FROM business.teams WHERE id = $1`, [team]);
    });
    const left = await pg.query(`SELECT 1 FROM business.team_members WHERE _sync_scope_id = 'u1'`);
    expect(left.rows).toHaveLength(0);
  });

  it('matches the business-rich-v0 fixture', (context) => {
    const fixture = join(
      repoRoot,
      '../shared/contracts/oversqlite/rich-schema/business-rich-v0.json',
    );
    if (!existsSync(fixture)) {
      context.skip(`shared contracts not found at ${fixture}`);
      return;
    }
    const rich = JSON.parse(readFileSync(fixture, 'utf8')) as {
      schema: string;
      tables: { name: string; syncKeyColumnName: string; columns: { name: string }[] }[];
    };
    expect(new Set(DEMO_TABLES.map((t) => t.table))).toEqual(
      new Set(rich.tables.map((t) => t.name)),
    );
    for (const table of rich.tables) {
      for (const column of table.columns) {
        expect(DEMO_SCHEMA_SQL).toMatch(new RegExp(`\\b${column.name}\\b`));
      }
    }
  });
});

describe('dev routes', () => {
  const floors: Array<[string, string]> = [];
  const serverWrites: string[] = [];
  const service: DevService = {
    fetch: async (request) => Response.json({ path: new URL(request.url).pathname }),
    scopeManager: {
      execWrite: async (scopeId, _options, fn) => {
        const calls: unknown[][] = [];
        await fn({ query: async (_sql, params) => calls.push(params ?? []) });
        serverWrites.push(`${scopeId}:${JSON.stringify(calls)}`);
        return { bundle: { bundleSeq: '7' } };
      },
    },
    setRetainedFloor: async (userId, floor) => {
      floors.push([userId, floor]);
      return { found: userId !== 'nobody' };
    },
    watchSubscriberCount: (userId) => (userId === 'busy' ? 3 : 0),
  };
  const app = createDevApp({ service, secret: 'dev-routes-secret' });
  const post = (path: string, body: string) =>
    app.request(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('signs in with any password', async () => {
    const res = await post('/dummy-signin', '{"user":" alice ","password":"x","device":"d"}');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; expires_in: number; user: string };
    expect(body).toMatchObject({ expires_in: 300, user: 'alice' });
    await expect(jwtAuth({ secret: 'dev-routes-secret' })(bearer(body.token))).resolves.toEqual({
      userId: 'alice',
    });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    for (const bad of ['{', '[]', '{"user":""}', '{"password":"x"}']) {
      const refused = await post('/dummy-signin', bad);
      expect(refused.status, bad).toBe(400);
      expect(await refused.json()).toMatchObject({ error: 'invalid_request' });
    }
  });

  it('sets the retention floor', async () => {
    const ok = await post('/test/retention-floor', '{"user_id":"u1","retained_bundle_floor":7}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', user_id: 'u1', retained_bundle_floor: 7 });
    expect(floors).toContainEqual(['u1', '7']);
    const missing = await post(
      '/test/retention-floor',
      '{"user_id":"nobody","retained_bundle_floor":1}',
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'user_state_not_found' });
    for (const bad of [
      'nope',
      '{"retained_bundle_floor":1}',
      '{"user_id":"u1","retained_bundle_floor":-1}',
      '{"user_id":"u1","retained_bundle_floor":1.5}',
      '{"user_id":"u1"}',
    ]) {
      expect((await post('/test/retention-floor', bad)).status, bad).toBe(400);
    }
  });

  it('runs a server-originated users insert for /test/server-write and validates its body', async () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const res = await post(
      '/test/server-write',
      JSON.stringify({ user_id: 'u9', name: 'N', email: 'e@x', id }),
    );
    expect(await res.json()).toEqual({ status: 'ok', user_id: 'u9', id, bundle_seq: 7 });
    expect(serverWrites.at(-1)).toBe(`u9:${JSON.stringify([['u9', id, 'N', 'e@x']])}`);
    for (const bad of ['{}', '{"user_id":"u","name":"n","email":"e","id":"not-a-uuid"}', 'x']) {
      expect((await post('/test/server-write', bad)).status, bad).toBe(400);
    }
  });

  it('reports watch subscribers, serves OpenAPI and forwards sync routes', async () => {
    const res = await app.request('/test/watch-subscribers?user_id=busy');
    expect(await res.json()).toEqual({
      user_id: 'busy',
      subscriber_count: 3,
      process_local_only: true,
    });
    expect((await app.request('/test/watch-subscribers')).status).toBe(400);
    const doc = (await (await app.request('http://127.0.0.1:9999/openapi.json')).json()) as {
      openapi: string;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(await (await app.request('/sync/pull?after_bundle_seq=0')).json()).toEqual({
      path: '/sync/pull',
    });
    expect(await (await app.request('/syncx/health')).json()).toEqual({ path: '/syncx/health' });
    expect((await app.request('/elsewhere')).status).toBe(404);
  });
});

describe('oversync token', () => {
  function captureIo(env: NodeJS.ProcessEnv): CliIo & { stdout: string[] } {
    const stdout: string[] = [];
    return { stdout, out: (t) => stdout.push(t), err: () => undefined, env };
  }

  it('prints a token the dev secret verifies, as the last line', async () => {
    const dir = freshDir();
    const io = captureIo({});
    const program = createProgram(io).exitOverride();
    await program.parseAsync(['token', 'alice', '--data-dir', dir, '--expires-in', '120'], {
      from: 'user',
    });
    const lines = io.stdout.join('').trimEnd().split('\n');
    const token = lines[lines.length - 1] ?? '';
    const { secret, source } = loadOrCreateDevSecret(dir, {});
    expect(source).toBe('file');
    await expect(jwtAuth({ secret })(bearer(token))).resolves.toEqual({ userId: 'alice' });
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(120);
  });

  it('uses JWT_SECRET when set', async () => {
    const io = captureIo({ JWT_SECRET: 'env-secret' });
    await createProgram(io)
      .exitOverride()
      .parseAsync(['token', 'bob', '--data-dir', freshDir()], { from: 'user' });
    const token = io.stdout.join('').trim().split('\n').pop() ?? '';
    await expect(jwtAuth({ secret: 'env-secret' })(bearer(token))).resolves.toEqual({
      userId: 'bob',
    });
  });

  it('works as a real process (bin entry through tsx)', () => {
    const dir = freshDir();
    const child = spawnSync(
      process.execPath,
      [
        '--conditions=@oversync/source',
        '--import',
        'tsx',
        join(repoRoot, 'packages/cli/src/main.ts'),
        'token',
        'carol',
        '--data-dir',
        dir,
      ],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, JWT_SECRET: '' } },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const token = child.stdout.trimEnd().split('\n').pop() ?? '';
    const { secret } = loadOrCreateDevSecret(dir, {});
    return expect(jwtAuth({ secret })(bearer(token))).resolves.toEqual({ userId: 'carol' });
  });
});
