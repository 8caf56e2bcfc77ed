export { type CheckOptions, type CheckResult, checkCommand, runCheck } from './commands/check.js';
export {
  DEFAULT_DEV_APP_NAME,
  type DevOptions,
  type DevServer,
  devBanner,
  devCommand,
  LOCK_FILE,
  PGDATA_DIR,
  startDevServer,
} from './commands/dev.js';
export { type ServeHandle, type ServeOptions, serveCommand, startServe } from './commands/serve.js';
export {
  createDevToken,
  DEFAULT_TOKEN_TTL_SECONDS,
  type TokenOptions,
  tokenCommand,
} from './commands/token.js';
export {
  type AuthConfig,
  ConfigError,
  type DevConfig,
  type JwtAuthOptions,
  loadConfigFile,
  loadDevConfigFile,
  parseConfig,
  parseDevConfig,
  resolveAuthOptions,
  type ServeConfig,
} from './config-file.js';
export {
  DEMO_SCHEMA,
  DEMO_SCHEMA_SQL,
  DEMO_TABLES,
  type DemoTable,
  REFERENCE_SCHEMA_SQL,
} from './demo-schema.js';
export {
  createDevApp,
  type DevAppOptions,
  type DevLogger,
  type DevService,
  DUMMY_SIGNIN_TTL_SECONDS,
} from './dev-routes.js';
export { DEV_SECRET_FILE, type DevSecret, loadOrCreateDevSecret } from './dev-secret.js';
export { displayHost, listen, type RunningServer } from './http-server.js';
export { type CliIo, processIo } from './io.js';
export {
  acquireLock,
  isProcessAlive,
  type LockHandle,
  LockHeldError,
  lockHolder,
  readLockOwner,
} from './lock-file.js';
export { createLogger, type LoggerOptions } from './logger.js';
export { DEFAULT_DATA_DIR, DEFAULT_PORT } from './options.js';
export { CLI_VERSION, createProgram, describeError } from './program.js';
export { onShutdownSignal } from './shutdown.js';
