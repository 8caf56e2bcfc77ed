/**
 * Smoke test of examples/node-todo: an in-process `oversync dev --config` server with the
 * example's own config, and the real `todo.js` CLI run as separate Node processes on two
 * database files of the same user (laptop and phone), plus a `watch` process.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger, type DevServer, startDevServer } from '@oversync/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exampleDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'oversync-node-todo-'));
const run = promisify(execFile);

/** Node flags that run todo.js on the workspace sources (no build needed). */
const NODE_FLAGS = ['--conditions=@oversync/source', '--import', 'tsx'];

interface Todo {
  id: string;
  title: string;
  done: number;
  updated_at: string;
}

let dev: DevServer;

beforeAll(async () => {
  dev = await startDevServer({
    port: 0,
    dataDir: join(scratch, 'server'),
    configPath: join(exampleDir, 'oversync.config.json'),
    logger: createLogger({ level: 'silent', pretty: false }),
    env: {},
  });
});

afterAll(async () => {
  await dev?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function todoArgs(db: string, user: string, args: readonly string[]): string[] {
  return [
    ...NODE_FLAGS,
    join(exampleDir, 'todo.js'),
    '--server',
    dev.baseUrl,
    '--db',
    join(scratch, db),
    '--user',
    user,
    ...args,
  ];
}

/** Runs one todo.js command to completion; returns its stdout. */
async function todo(db: string, user: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, todoArgs(db, user, args), {
    cwd: exampleDir,
    env: { ...process.env, OVERSYNC_TOKEN: '' },
  });
  return stdout;
}

async function list(db: string, user: string): Promise<Todo[]> {
  const out = await todo(db, user, 'list', '--json');
  return JSON.parse(out.trim().split('\n').pop() ?? '[]') as Todo[];
}

/** Resolves once `child`'s stdout contains `text` (rejects after `ms`). */
function waitForOutput(child: ChildProcess, output: { text: string }, text: string, ms = 30_000) {
  return new Promise<void>((done, fail) => {
    if (output.text.includes(text)) return done();
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      fail(new Error(`no "${text}" within ${ms} ms; output so far:\n${output.text}`));
    }, ms);
    const onData = () => {
      if (!output.text.includes(text)) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      done();
    };
    child.stdout?.on('data', onData);
  });
}

describe('examples/node-todo', () => {
  it('a todo added on one database appears on the other, and done round-trips', async () => {
    const added = await todo('alice-laptop.db', 'alice', 'add', 'milk');
    expect(added).toMatch(/^added [0-9a-f]{8} {2}milk$/m);

    const onPhone = await list('alice-phone.db', 'alice');
    expect(onPhone).toHaveLength(1);
    expect(onPhone[0]).toMatchObject({ title: 'milk', done: 0 });
    const id = onPhone[0]?.id ?? '';

    await todo('alice-phone.db', 'alice', 'done', id.slice(0, 6));
    const onLaptop = await list('alice-laptop.db', 'alice');
    expect(onLaptop).toEqual([expect.objectContaining({ id, title: 'milk', done: 1 })]);

    // Another user's database sees none of alice's rows.
    expect(await list('bob-laptop.db', 'bob')).toEqual([]);
  });

  it('watch prints the list again when another process writes', async () => {
    const output = { text: '' };
    const watcher = spawn(process.execPath, todoArgs('alice-phone.db', 'alice', ['watch']), {
      cwd: exampleDir,
      env: { ...process.env, OVERSYNC_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watcher.stdout.setEncoding('utf8');
    watcher.stdout.on('data', (chunk: string) => {
      output.text += chunk;
    });
    let stderr = '';
    watcher.stderr.setEncoding('utf8');
    watcher.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => watcher.on('exit', (code) => done(code)));
    try {
      await waitForOutput(watcher, output, 'milk');
      expect(output.text).toContain('watching');

      await todo('alice-laptop.db', 'alice', 'add', 'bread');
      await waitForOutput(watcher, output, 'bread');
      expect(output.text).toMatch(/changed by pull/);
    } finally {
      watcher.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
  });
});
