import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteDatabase, createSyncService, jwtAuth } from '@oversync/server';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { DEMO_SCHEMA_SQL, DEMO_TABLES } from '../demo-schema.js';
import { createDevApp } from '../dev-routes.js';
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from '../dev-secret.js';
import { listen } from '../http-server.js';
import { type CliIo, processIo } from '../io.js';
import { acquireLock, type LockHandle, LockHeldError } from '../lock-file.js';
import { createLogger } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_PORT, parsePort } from '../options.js';
import { onShutdownSignal } from '../shutdown.js';

/** App name reported by `/syncx/status`; the SQLiteNow Dart real-server harness requires it. */
export const DEFAULT_DEV_APP_NAME = 'nethttp-server-example';
/** Lock file inside the data directory. */
export const LOCK_FILE = 'lock';
/** PGlite data directory inside the data directory. */
export const PGDATA_DIR = 'pgdata';

/** Options of {@link startDevServer}. */
export interface DevOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Delete the database and the dev secret before starting (refused while another dev server runs). */
  reset?: boolean;
  appName?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** A running dev server. */
export interface DevServer {
  url: string;
  port: number;
  dataDir: string;
  secret: string;
  secretSource: 'env' | 'file' | 'created';
  /** Ends watch streams, finishes in-flight requests, closes PGlite and releases the lock. */
  close(): Promise<void>;
}

/**
 * Starts the development server: PGlite persisted in `<dataDir>/pgdata` (guarded by
 * `<dataDir>/lock`), the demo `business` schema, the sync service and the dev routes.
 */
export async function startDevServer(options: DevOptions = {}): Promise<DevServer> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const logger = options.logger ?? createLogger();
  const env = options.env ?? process.env;
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const releaseOnExit = () => lock.release();
  process.once('exit', releaseOnExit);
  const undo: Array<() => Promise<void>> = [];
  try {
    if (options.reset === true) {
      rmSync(join(dataDir, PGDATA_DIR), { recursive: true, force: true });
      rmSync(join(dataDir, DEV_SECRET_FILE), { force: true });
      logger.info({ dataDir }, 'reset: deleted the database and the dev secret');
    }
    const { secret, source } = loadOrCreateDevSecret(dataDir, env);

    const pglite = await PGlite.create(join(dataDir, PGDATA_DIR));
    undo.push(async () => {
      if (!pglite.closed) await pglite.close();
    });
    const db = createPgliteDatabase(pglite);
    undo.push(() => db.close());
    await db.exec(DEMO_SCHEMA_SQL);

    const service = createSyncService({
      db,
      tables: [...DEMO_TABLES],
      authenticate: jwtAuth({
        secret,
        onError: (error) => logger.debug({ err: error }, 'authentication refused'),
      }),
      appName: options.appName ?? DEFAULT_DEV_APP_NAME,
      logger,
      cors: { origins: '*' },
      watch: { enabled: true },
    });
    undo.push(() => service.close());
    await service.bootstrap();

    const app = createDevApp({ service, secret, logger });
    const server = await listen((request) => app.fetch(request), {
      port: options.port ?? DEFAULT_PORT,
      host: options.host ?? '127.0.0.1',
    });
    logger.info({ url: server.url, dataDir }, 'oversync dev server listening');

    let closing: Promise<void> | undefined;
    const close = async () => {
      const serverClosed = server.close();
      await service.close();
      await serverClosed;
      await db.close();
      if (!pglite.closed) await pglite.close();
      lock.release();
      process.off('exit', releaseOnExit);
    };
    return {
      url: server.url,
      port: server.port,
      dataDir,
      secret,
      secretSource: source,
      close: () => {
        closing ??= close();
        return closing;
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    lock.release();
    process.off('exit', releaseOnExit);
    throw error;
  }
}

function lockDataDir(dataDir: string): LockHandle {
  try {
    return acquireLock(join(dataDir, LOCK_FILE));
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    throw new LockHeldError(
      error.path,
      error.pid,
      `another oversync dev server (pid ${error.pid}) is using ${dataDir}; stop it or use another --data-dir`,
    );
  }
}

/** The lines `oversync dev` prints once it listens. */
export function devBanner(dev: DevServer): string {
  const secretNote =
    dev.secretSource === 'env'
      ? 'JWT_SECRET from the environment'
      : `${join(dev.dataDir, DEV_SECRET_FILE)}${dev.secretSource === 'created' ? ' (new)' : ''}`;
  return [
    '',
    `oversync dev server: ${dev.url}`,
    `  data:        ${dev.dataDir}`,
    `  jwt secret:  ${secretNote}`,
    '  get a token:',
    '    npx oversync token <userId>',
    `    curl -s -X POST ${dev.url}/dummy-signin -H 'content-type: application/json' \\`,
    `      -d '{"user":"alice","password":"any"}'`,
    `  try it:      curl -s ${dev.url}/sync/capabilities -H "authorization: Bearer $TOKEN" \\`,
    `                 -H 'oversync-source-id: 00000000-0000-4000-8000-000000000001'`,
    `  openapi:     ${dev.url}/openapi.json`,
    '',
    '',
  ].join('\n');
}

/** `oversync dev`. */
export function devCommand(io: CliIo = processIo): Command {
  return new Command('dev')
    .description('run a development sync server on embedded PGlite with the demo schema')
    .option('--port <n>', 'port to listen on', parsePort, DEFAULT_PORT)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where the database, lock and dev secret live', DEFAULT_DATA_DIR)
    .option('--reset', 'delete the database and the dev secret first', false)
    .option('--app-name <name>', 'app_name reported by /syncx/status', DEFAULT_DEV_APP_NAME)
    .action(
      async (opts: {
        port: number;
        host: string;
        dataDir: string;
        reset: boolean;
        appName: string;
      }) => {
        const logger = createLogger();
        const dev = await startDevServer({ ...opts, logger, env: io.env });
        io.out(devBanner(dev));
        onShutdownSignal(async (signal) => {
          logger.info({ signal }, 'shutting down');
          await dev.close();
          logger.info('stopped');
        }, io);
      },
    );
}
