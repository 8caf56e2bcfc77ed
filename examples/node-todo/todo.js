#!/usr/bin/env node
// @ts-check
/**
 * node-todo: a todo list kept in a local SQLite file and synced through an oversync server.
 *
 *   npm run dev:server                                  # in another terminal
 *   node todo.js --db alice-laptop.db --user alice add "milk"
 *   node todo.js --db alice-phone.db  --user alice list
 *   node todo.js --db alice-phone.db  --user alice done 3f2a
 *   node todo.js --db alice-laptop.db --user alice watch
 *
 * Options: --server URL (default $OVERSYNC_URL or http://127.0.0.1:8080), --db FILE (default
 * todo.db), --user ID (default $USER), --token JWT (default $OVERSYNC_TOKEN, else a token from the
 * dev server's /dummy-signin).
 *
 * Every write goes to SQLite first (capture triggers record it), then `sync()` pushes it and
 * pulls what other devices wrote. When the server is down, writes stay local and are pushed by a
 * later run.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createOversyncClient, isOversyncClientError } from '@oversync/client';
import { createBetterSqlite3Driver } from '@oversync/driver-better-sqlite3';

const USAGE = `usage: node todo.js [--server URL] [--db FILE] [--user ID] [--token JWT] <command>

commands:
  add <title…>    add a todo
  list [--json]   sync, then print the list
  done <id>       mark a todo done (an id prefix is enough)
  undone <id>     mark it not done
  rm <id>         delete a todo
  watch           print the list, then again on every change from the server (Ctrl-C stops)
  status          print the sync status`;

/** The local table: same visible columns as todo.todos on the server (schema.sql). */
const TODOS_DDL = `CREATE TABLE IF NOT EXISTS todos (
  id TEXT PRIMARY KEY NOT NULL,
  title TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
)`;

/**
 * @typedef {{ id: string, title: string, done: number, updated_at: string }} Todo
 * @typedef {import('@oversync/client').OversyncClient} OversyncClient
 * @typedef {import('@oversync/client').SqliteDriver} SqliteDriver
 */

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      server: { type: 'string', default: process.env.OVERSYNC_URL ?? 'http://127.0.0.1:8080' },
      db: { type: 'string', default: 'todo.db' },
      user: { type: 'string', default: process.env.USER ?? 'alice' },
      token: { type: 'string', default: process.env.OVERSYNC_TOKEN },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const server = values.server.replace(/\/+$/, '');
  const user = values.user;

  const driver = createBetterSqlite3Driver({ filename: values.db });
  await driver.exec(TODOS_DDL);
  const client = createOversyncClient({
    driver,
    baseUrl: server,
    getToken: tokenSource(server, user, values.token),
    schema: 'todo', // the PostgreSQL schema the server registered todo.todos under
    tables: [{ tableName: 'todos', syncKeyColumnName: 'id' }],
  });
  try {
    await client.open(); // installs the capture triggers; every launch
    await attach(client, user);
    switch (command) {
      case 'add': {
        const title = args.join(' ').trim();
        if (title === '') throw new UsageError('add needs a title');
        const id = randomUUID();
        await driver.run('INSERT INTO todos(id, title, done, updated_at) VALUES (?, ?, 0, ?)', [
          id,
          title,
          now(),
        ]);
        console.log(`added ${short(id)}  ${title}`);
        await trySync(client);
        break;
      }
      case 'done':
      case 'undone': {
        const todo = await findTodo(driver, args[0]);
        await driver.run('UPDATE todos SET done = ?, updated_at = ? WHERE id = ?', [
          command === 'done' ? 1 : 0,
          now(),
          todo.id,
        ]);
        console.log(
          `${command === 'done' ? 'done' : 'not done'}: ${short(todo.id)}  ${todo.title}`,
        );
        await trySync(client);
        break;
      }
      case 'rm': {
        const todo = await findTodo(driver, args[0]);
        await driver.run('DELETE FROM todos WHERE id = ?', [todo.id]);
        console.log(`removed ${short(todo.id)}  ${todo.title}`);
        await trySync(client);
        break;
      }
      case 'list': {
        await trySync(client);
        const todos = await readTodos(driver);
        console.log(values.json ? JSON.stringify(todos) : formatList(user, todos));
        break;
      }
      case 'status': {
        console.log(JSON.stringify(await client.syncStatus(), null, 2));
        break;
      }
      case 'watch': {
        await watch(client, driver, user);
        break;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } finally {
    await client.close();
    await driver.close();
  }
}

/**
 * Binds the database to the user. The first attach asks the server: an empty account starts
 * empty, an existing one is downloaded (snapshot); later runs resume without the network.
 * @param {OversyncClient} client
 * @param {string} user
 */
async function attach(client, user) {
  for (;;) {
    const result = await client.attach(user);
    if (result.status === 'connected') {
      const downloaded = result.restore?.rowCount ?? 0;
      if (downloaded > 0) console.error(`downloaded ${downloaded} todo(s) of ${user}`);
      return;
    }
    // Another device of this user is seeding the account right now: try again shortly.
    await new Promise((resolve) => setTimeout(resolve, result.retryAfterSeconds * 1000));
  }
}

/**
 * Push local changes, then pull. A network failure keeps the change local (pushed next time).
 * @param {OversyncClient} client
 */
async function trySync(client) {
  try {
    await client.sync();
  } catch (error) {
    const unreachable =
      isOversyncClientError(error) &&
      (error.category === 'network' || error.cause instanceof ServerUnreachable);
    if (unreachable) {
      const why = error.cause instanceof ServerUnreachable ? error.cause.message : error.message;
      console.error(`offline (${why}): kept locally, will sync next time`);
      return;
    }
    throw error;
  }
}

/**
 * Prints the list now and after every change the server sends. `startAutomaticDownloads` keeps
 * an SSE watch stream open and pulls when another device commits; `tablesChanged` fires after
 * each pull that changed rows.
 * @param {OversyncClient} client
 * @param {SqliteDriver} driver
 * @param {string} user
 */
async function watch(client, driver, user) {
  await trySync(client);
  const print = async (/** @type {string} */ why) => {
    const list = formatList(user, await readTodos(driver));
    console.log(`--- ${new Date().toLocaleTimeString()} ${why}\n${list}`);
  };
  await print('watching (Ctrl-C to stop)');
  client.on('tablesChanged', (event) => {
    if (event.tables.includes('todos')) void print(`changed by ${event.cause}`);
  });
  client.on('error', (event) => {
    const message = event.error instanceof Error ? event.error.message : String(event.error);
    console.error(`(${event.during}: ${message}; retrying)`);
  });
  const downloads = client.startAutomaticDownloads();
  await new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(undefined);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    downloads.done.then(stop, stop);
  });
  await downloads.stop();
}

/**
 * A token getter for the client. It is called before each request, so an expiring token is
 * replaced in time. Without --token it signs in at the dev server's `/dummy-signin`
 * (development only; a real app returns its session's JWT here).
 * @param {string} server
 * @param {string} user
 * @param {string | undefined} fixed
 * @returns {() => Promise<string>}
 */
function tokenSource(server, user, fixed) {
  if (fixed !== undefined && fixed !== '') return async () => fixed;
  /** @type {{ token: string, expiresAt: number } | undefined} */
  let cached;
  return async () => {
    if (cached !== undefined && Date.now() < cached.expiresAt) return cached.token;
    /** @type {Response} */
    let response;
    try {
      response = await fetch(`${new URL(server).origin}/dummy-signin`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user, password: 'dev' }),
      });
    } catch (error) {
      throw new ServerUnreachable(`cannot reach ${server}`, { cause: error });
    }
    if (!response.ok) {
      throw new Error(`dummy sign-in at ${server} failed: HTTP ${response.status}`);
    }
    const body = /** @type {{ token: string, expires_in: number }} */ (await response.json());
    // Renew a minute before expiry (dev tokens live 300 s).
    cached = { token: body.token, expiresAt: Date.now() + (body.expires_in - 60) * 1000 };
    return body.token;
  };
}

/** @param {SqliteDriver} driver @returns {Promise<Todo[]>} */
async function readTodos(driver) {
  return /** @type {Todo[]} */ (
    await driver.all('SELECT id, title, done, updated_at FROM todos ORDER BY updated_at, id')
  );
}

/**
 * @param {SqliteDriver} driver
 * @param {string | undefined} prefix
 * @returns {Promise<Todo>}
 */
async function findTodo(driver, prefix) {
  if (prefix === undefined || prefix === '') throw new UsageError('give a todo id (or a prefix)');
  const rows = /** @type {Todo[]} */ (
    await driver.all(
      'SELECT id, title, done, updated_at FROM todos WHERE substr(id, 1, length(?)) = ? LIMIT 2',
      [prefix, prefix],
    )
  );
  if (rows.length === 0) throw new UsageError(`no todo with id ${prefix}`);
  if (rows.length > 1) throw new UsageError(`id ${prefix} is ambiguous: give more characters`);
  return /** @type {Todo} */ (rows[0]);
}

/** @param {string} user @param {Todo[]} todos */
function formatList(user, todos) {
  const done = todos.filter((t) => t.done !== 0).length;
  const lines = [`${user}: ${todos.length} todo(s), ${done} done`];
  for (const t of todos) lines.push(`  [${t.done !== 0 ? 'x' : ' '}] ${short(t.id)}  ${t.title}`);
  return lines.join('\n');
}

/** @param {string} id */
const short = (id) => id.slice(0, 8);
const now = () => new Date().toISOString();

class UsageError extends Error {}
class ServerUnreachable extends Error {}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof Error && error.cause instanceof ServerUnreachable) {
    console.error(`${error.cause.message}: is the server running (npm run dev:server)?`);
    process.exitCode = 1;
  } else if (isOversyncClientError(error, 'binding_conflict')) {
    console.error(`${error.message}\n(use another --db for another user)`);
    process.exitCode = 1;
  } else {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
});
