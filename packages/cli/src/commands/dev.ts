import { mkdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteDatabase, createSyncService, jwtAuth } from '@oversync/server';
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { ConfigError, type DevConfig, loadDevConfigFile } from '../config-file.js';
import {
  DEMO_SCHEMA_SQL,
  DEMO_TABLES,
  type DemoTable,
  REFERENCE_SCHEMA_SQL,
} from '../demo-schema.js';
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
/** PGlite data directory of `--dialect g1` (another schema, so another database). */
export const PGDATA_G1_DIR = 'pgdata-g1';

/** Options of {@link startDevServer}. */
export interface DevOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  /** Delete the database and the dev secret before starting (refused while another dev server runs). */
  reset?: boolean;
  /** Default: the config's `appName`, else {@link DEFAULT_DEV_APP_NAME}. */
  appName?: string;
  /**
   * Serve the app's own tables instead of the demo schema: a `oversync serve` config file
   * (`tables`, `appName`, `basePath`, `cors`, `watch`; `auth` is optional and ignored) whose
   * `setupSql` files create those tables in the embedded database on every start.
   */
  configPath?: string;
  /**
   * Wire generation: `g2` (default; SQLiteNow Kotlin/Dart clients, business-rich-v0 demo
   * schema) or `g1` (go-oversync's Go client; go-oversync's example schema, in its own
   * database inside the data directory).
   */
  dialect?: 'g1' | 'g2';
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** A running dev server. */
export interface DevServer {
  /** Server origin, e.g. `http://127.0.0.1:8080` (the dev routes live here). */
  url: string;
  /** Client base URL: {@link url} plus the config's `basePath`. */
  baseUrl: string;
  port: number;
  dataDir: string;
  /** Registered tables, `schema.table`. */
  tables: string[];
  /** Absolute path of the `--config` file, when one is served. */
  configPath?: string;
  secret: string;
  secretSource: 'env' | 'file' | 'created';
  /** Wire generation served. */
  dialect: 'g1' | 'g2';
  /** Ends watch streams, finishes in-flight requests, closes PGlite and releases the lock. */
  close(): Promise<void>;
}

/**
 * Starts the development server: PGlite persisted in `<dataDir>/pgdata` (guarded by
 * `<dataDir>/lock`), the demo `business` schema (or the tables of `configPath`), the sync
 * service and the dev routes.
 */
export async function startDevServer(options: DevOptions = {}): Promise<DevServer> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const logger = options.logger ?? createLogger();
  const env = options.env ?? process.env;
  // Read the config before anything touches the data directory: a broken file changes nothing.
  const configPath = options.configPath === undefined ? undefined : resolve(options.configPath);
  const config = configPath === undefined ? undefined : await loadDevConfigFile(configPath);
  const setup = config === undefined ? undefined : await readSetupSql(config, configPath as string);
  const tables: DemoTable[] = config === undefined ? [...DEMO_TABLES] : config.tables;
  const basePath = config?.basePath ?? '';
  const dialect = options.dialect ?? 'g2';
  const pgdata = dialect === 'g1' && config === undefined ? PGDATA_G1_DIR : PGDATA_DIR;
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const releaseOnExit = () => lock.release();
  process.once('exit', releaseOnExit);
  const undo: Array<() => Promise<void>> = [];
  try {
    if (options.reset === true) {
      rmSync(join(dataDir, pgdata), { recursive: true, force: true });
      rmSync(join(dataDir, DEV_SECRET_FILE), { force: true });
      logger.info({ dataDir }, 'reset: deleted the database and the dev secret');
    }
    const { secret, source } = loadOrCreateDevSecret(dataDir, env);

    const pglite = await PGlite.create(join(dataDir, pgdata));
    undo.push(async () => {
      if (!pglite.closed) await pglite.close();
    });
    const db = createPgliteDatabase(pglite);
    undo.push(() => db.close());
    if (setup === undefined) {
      await db.exec(dialect === 'g1' ? REFERENCE_SCHEMA_SQL : DEMO_SCHEMA_SQL);
    } else {
      for (const file of setup) {
        try {
          await db.exec(file.sql);
        } catch (error) {
          throw new ConfigError(configPath as string, [
            `setupSql ${file.path}: ${(error as Error).message}`,
          ]);
        }
      }
      if (config?.auth !== undefined) {
        logger.info('config auth section ignored: the dev server verifies its own dev tokens');
      }
    }

    const service = createSyncService({
      db,
      tables,
      authenticate: jwtAuth({
        secret,
        onError: (error) => logger.debug({ err: error }, 'authentication refused'),
      }),
      appName: options.appName ?? config?.appName ?? DEFAULT_DEV_APP_NAME,
      basePath,
      dialect,
      logger,
      cors: config?.cors ?? { origins: '*' },
      watch: { enabled: true, ...config?.watch },
    });
    undo.push(() => service.close());
    await service.bootstrap();

    const app = createDevApp({ service, secret, logger, basePath });
    const server = await listen((request) => app.fetch(request), {
      port: options.port ?? DEFAULT_PORT,
      host: options.host ?? '127.0.0.1',
    });
    logger.info(
      { url: server.url, dataDir, tables: tables.length, config: configPath },
      'oversync dev server listening',
    );

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
      baseUrl: `${server.url}${basePath}`,
      port: server.port,
      dataDir,
      tables: tables.map((t) => `${t.schema}.${t.table}`),
      ...(configPath === undefined ? {} : { configPath }),
      secret,
      secretSource: source,
      dialect,
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

/** The `setupSql` files of a dev config, read up front so a missing file fails before start. */
async function readSetupSql(
  config: DevConfig,
  configPath: string,
): Promise<Array<{ path: string; sql: string }>> {
  const files: Array<{ path: string; sql: string }> = [];
  for (const path of config.setupSql) {
    try {
      files.push({ path, sql: await readFile(path, 'utf8') });
    } catch (error) {
      throw new ConfigError(configPath, [
        `setupSql: cannot read ${path}: ${(error as Error).message}`,
      ]);
    }
  }
  return files;
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

/** A path relative to the working directory when it lies below it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

/** The lines `oversync dev` prints once it listens. */
export function devBanner(dev: DevServer): string {
  const secretNote =
    dev.secretSource === 'env'
      ? 'JWT_SECRET from the environment'
      : `${join(dev.dataDir, DEV_SECRET_FILE)}${dev.secretSource === 'created' ? ' (new)' : ''}`;
  const tables =
    dev.configPath === undefined
      ? dev.dialect === 'g1'
        ? 'go-oversync example schema (G1 wire for the Go client)'
        : 'demo schema (business-rich-v0)'
      : `${dev.tables.join(', ')} from ${displayPath(dev.configPath)}`;
  const dataDirArg =
    dev.dataDir === resolve(DEFAULT_DATA_DIR) ? '' : ` --data-dir ${displayPath(dev.dataDir)}`;
  return [
    '',
    `oversync dev server: ${dev.baseUrl}`,
    `  data:        ${dev.dataDir}`,
    `  tables:      ${tables}`,
    `  jwt secret:  ${secretNote}`,
    '  get a token:',
    `    npx oversync token <userId>${dataDirArg}`,
    `    curl -s -X POST ${dev.url}/dummy-signin -H 'content-type: application/json' \\`,
    `      -d '{"user":"alice","password":"any"}'`,
    `  try it:      curl -s ${dev.baseUrl}/sync/capabilities -H "authorization: Bearer $TOKEN" \\`,
    `                 -H 'oversync-source-id: 00000000-0000-4000-8000-000000000001'`,
    `  openapi:     ${dev.url}/openapi.json`,
    '',
    '',
  ].join('\n');
}

/** `oversync dev`. */
export function devCommand(io: CliIo = processIo): Command {
  return new Command('dev')
    .description(
      'run a development sync server on embedded PGlite with the demo schema (or your tables: --config)',
    )
    .option('--port <n>', 'port to listen on', parsePort, DEFAULT_PORT)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where the database, lock and dev secret live', DEFAULT_DATA_DIR)
    .option('--reset', 'delete the database and the dev secret first', false)
    .option(
      '--app-name <name>',
      `app_name reported by /syncx/status (default: the config's appName, else ${DEFAULT_DEV_APP_NAME})`,
    )
    .addOption(
      new Option(
        '--dialect <g1|g2>',
        'wire generation: g2 (SQLiteNow clients) or g1 (go-oversync Go client, with its example schema)',
      )
        .choices(['g1', 'g2'])
        .default('g2'),
    )
    .option(
      '--config <file>',
      'serve your own tables: an `oversync serve` config file (JSON) whose "setupSql" files create them; "auth" is optional and ignored',
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        dataDir: string;
        reset: boolean;
        appName?: string;
        config?: string;
        dialect: 'g1' | 'g2';
      }) => {
        const logger = createLogger();
        const { config, ...rest } = opts;
        const dev = await startDevServer({
          ...rest,
          ...(config === undefined ? {} : { configPath: config }),
          logger,
          env: io.env,
        });
        io.out(devBanner(dev));
        onShutdownSignal(async (signal) => {
          logger.info({ signal }, 'shutting down');
          await dev.close();
          logger.info('stopped');
        }, io);
      },
    );
}
