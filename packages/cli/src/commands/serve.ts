import { createPgDatabase, createSyncService, jwtAuth } from '@oversync/server';
import { Command, Option } from 'commander';
import type { Logger } from 'pino';
import { loadConfigFile, resolveAuthOptions } from '../config-file.js';
import { listen, type RunningServer } from '../http-server.js';
import { type CliIo, processIo } from '../io.js';
import { createLogger } from '../logger.js';
import { DEFAULT_PORT, parsePort } from '../options.js';
import { onShutdownSignal } from '../shutdown.js';

/** Options of {@link startServe}. */
export interface ServeOptions {
  databaseUrl: string;
  configPath: string;
  port?: number;
  host?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

/** A running `oversync serve`. */
export interface ServeHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the sync API of a config file over real PostgreSQL. */
export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const logger = options.logger ?? createLogger();
  const config = await loadConfigFile(options.configPath);
  const authOptions = resolveAuthOptions(
    config.auth,
    options.env ?? process.env,
    options.configPath,
  );
  const db = createPgDatabase({ connectionString: options.databaseUrl });
  const service = createSyncService({
    db,
    tables: config.tables,
    authenticate: jwtAuth({
      ...authOptions,
      onError: (error) => logger.debug({ err: error }, 'authentication refused'),
    }),
    appName: config.appName,
    basePath: config.basePath,
    cors: config.cors,
    watch: config.watch,
    logger,
  });
  let server: RunningServer;
  try {
    await service.bootstrap();
    server = await listen((request) => service.fetch(request), {
      port: options.port ?? DEFAULT_PORT,
      host: options.host ?? '0.0.0.0',
    });
  } catch (error) {
    await service.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
  logger.info({ url: server.url, tables: config.tables.length }, 'oversync server listening');
  let closing: Promise<void> | undefined;
  const close = async () => {
    const serverClosed = server.close();
    await service.close();
    await serverClosed;
    await db.close();
  };
  return {
    url: server.url,
    port: server.port,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}

/** `oversync serve`. */
export function serveCommand(io: CliIo = processIo): Command {
  return new Command('serve')
    .description('serve the sync API over PostgreSQL, configured by a JSON file')
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL connection string')
        .env('DATABASE_URL')
        .makeOptionMandatory(),
    )
    .requiredOption('--config <file>', 'config file (JSON)')
    .option('--port <n>', 'port to listen on', parsePort, DEFAULT_PORT)
    .option('--host <host>', 'interface to listen on', '0.0.0.0')
    .action(async (opts: { databaseUrl: string; config: string; port: number; host: string }) => {
      const logger = createLogger();
      const server = await startServe({
        databaseUrl: opts.databaseUrl,
        configPath: opts.config,
        port: opts.port,
        host: opts.host,
        env: io.env,
        logger,
      });
      io.out(`oversync server: ${server.url}\n`);
      onShutdownSignal(async (signal) => {
        logger.info({ signal }, 'shutting down');
        await server.close();
        logger.info('stopped');
      }, io);
    });
}
