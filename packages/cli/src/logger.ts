import pino, { type Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Log level. Default: `OVERSYNC_LOG_LEVEL` or `LOG_LEVEL` from the environment, else `'info'`. */
  level?: string;
  /** Human-readable output through pino-pretty. Default: when stdout is a terminal. */
  pretty?: boolean;
}

/**
 * The CLI's pino logger: pretty lines on a terminal, JSON lines otherwise (pipes, CI, containers).
 * It is passed to `createSyncService` as its `logger`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.OVERSYNC_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  if (!pretty) return pino({ level, name: 'oversync' });
  return pino({
    level,
    name: 'oversync',
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  });
}
