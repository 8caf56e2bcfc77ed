import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { jwtAuth } from '@oversync/server';
import * as v from 'valibot';

/** Options of `jwtAuth` (`@oversync/server`). */
export type JwtAuthOptions = Parameters<typeof jwtAuth>[0];

/** Thrown when a config file cannot be read, parsed or validated; `issues` lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`invalid config ${source}:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
  }
}

const Name = v.pipe(v.string(), v.trim(), v.nonEmpty('must not be empty'));
const NameOrNames = v.union(
  [Name, v.pipe(v.array(Name), v.minLength(1, 'must not be empty'))],
  'must be a string or a non-empty array of strings',
);

const TableSchema = v.strictObject({ schema: Name, table: Name, syncKeyColumn: Name });

const AuthSchema = v.pipe(
  v.strictObject({
    secret: v.optional(Name),
    secretEnv: v.optional(Name),
    jwksUrl: v.optional(v.pipe(v.string(), v.url('must be an absolute URL'))),
    issuer: v.optional(NameOrNames),
    audience: v.optional(NameOrNames),
    userIdClaim: v.optional(Name),
    algorithms: v.optional(v.pipe(v.array(Name), v.minLength(1, 'must not be empty'))),
  }),
  v.check(
    (auth) =>
      [auth.secret, auth.secretEnv, auth.jwksUrl].filter((s) => s !== undefined).length === 1,
    'needs exactly one of "secret", "secretEnv" or "jwksUrl"',
  ),
);

const CorsSchema = v.union(
  [
    v.literal(false),
    v.strictObject({
      origins: v.union(
        [v.literal('*'), v.array(v.pipe(v.string(), v.url('must be an origin URL')))],
        'must be "*" or an array of origins',
      ),
    }),
  ],
  'must be false or { "origins": "*" | string[] }',
);

const configEntries = {
  $schema: v.optional(v.string()),
  tables: v.pipe(v.array(TableSchema), v.minLength(1, 'must list at least one table')),
  appName: v.optional(Name),
  basePath: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^(\/[^/?#\s]+)*$/, 'must be empty or start with "/" and have no trailing "/"'),
    ),
  ),
  cors: v.optional(CorsSchema),
  watch: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean()),
      heartbeatMs: v.optional(
        v.pipe(v.number(), v.integer(), v.minValue(1000, 'must be at least 1000')),
      ),
    }),
  ),
  /**
   * SQL files (paths relative to the config file) that `oversync dev` runs on every start,
   * before bootstrap, to create the app's tables in its embedded database. They must be
   * idempotent (`CREATE … IF NOT EXISTS`). `serve` and `check` ignore them: on real PostgreSQL
   * the app runs its own migrations.
   */
  setupSql: v.optional(NameOrNames),
  auth: AuthSchema,
};

function uniqueTables<T extends { tables: { schema: string; table: string }[] }>() {
  return v.check<T, string>((config) => {
    const names = config.tables.map((t) => `${t.schema}.${t.table}`);
    return new Set(names).size === names.length;
  }, 'tables: every schema.table must appear once');
}

const ServeObject = v.strictObject(configEntries);
const ConfigSchema = v.pipe(ServeObject, uniqueTables<v.InferOutput<typeof ServeObject>>());

/** `oversync dev --config`: the same file, but `auth` may be left out (dev signs its own tokens). */
const DevObject = v.strictObject({ ...configEntries, auth: v.optional(AuthSchema) });
const DevConfigSchema = v.pipe(DevObject, uniqueTables<v.InferOutput<typeof DevObject>>());

/** The validated content of a `oversync serve` / `oversync check` config file. */
export type ServeConfig = v.InferOutput<typeof ConfigSchema>;
/** The `auth` section of a {@link ServeConfig}. */
export type AuthConfig = ServeConfig['auth'];

/**
 * The content of a config file as `oversync dev --config` reads it: `auth` is optional and
 * ignored (the dev server verifies the tokens it signs itself, so `/dummy-signin` and
 * `oversync token` keep working), and `setupSql` holds absolute paths.
 */
export type DevConfig = Omit<ServeConfig, 'auth' | 'setupSql'> & {
  auth?: AuthConfig;
  /** Absolute paths of the SQL files to run on start, in order. */
  setupSql: string[];
};

/** Validates an already parsed config value; throws {@link ConfigError} listing every issue. */
export function parseConfig(value: unknown, source = 'config'): ServeConfig {
  const result = v.safeParse(ConfigSchema, value);
  if (result.success) return result.output;
  throw new ConfigError(source, result.issues.map(describeIssue));
}

/**
 * Validates a parsed config value for `oversync dev`; relative `setupSql` paths are resolved
 * against `baseDir` (the config file's directory).
 */
export function parseDevConfig(value: unknown, source = 'config', baseDir = '.'): DevConfig {
  const result = v.safeParse(DevConfigSchema, value);
  if (!result.success) throw new ConfigError(source, result.issues.map(describeIssue));
  const { setupSql, ...rest } = result.output;
  const files = setupSql === undefined ? [] : Array.isArray(setupSql) ? setupSql : [setupSql];
  return { ...rest, setupSql: files.map((file) => resolve(baseDir, file)) };
}

/** Reads, parses and validates a config file. */
export async function loadConfigFile(path: string): Promise<ServeConfig> {
  return parseConfig(await readJsonFile(path), path);
}

/** Reads, parses and validates a config file for `oversync dev --config`. */
export async function loadDevConfigFile(path: string): Promise<DevConfig> {
  return parseDevConfig(await readJsonFile(path), path, dirname(resolve(path)));
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid JSON: ${(error as Error).message}`]);
  }
}

/** Turns the `auth` section into `jwtAuth` options, reading `secretEnv` from `env`. */
export function resolveAuthOptions(
  auth: AuthConfig,
  env: NodeJS.ProcessEnv = process.env,
  source = 'config',
): JwtAuthOptions {
  const options: JwtAuthOptions = {};
  if (auth.secret !== undefined) options.secret = auth.secret;
  if (auth.secretEnv !== undefined) {
    const secret = env[auth.secretEnv];
    if (secret === undefined || secret.length === 0) {
      throw new ConfigError(source, [
        `auth.secretEnv: environment variable ${auth.secretEnv} is not set`,
      ]);
    }
    options.secret = secret;
  }
  if (auth.jwksUrl !== undefined) options.jwksUrl = auth.jwksUrl;
  if (auth.issuer !== undefined) options.issuer = auth.issuer;
  if (auth.audience !== undefined) options.audience = auth.audience;
  if (auth.userIdClaim !== undefined) options.userIdClaim = auth.userIdClaim;
  if (auth.algorithms !== undefined) options.algorithms = auth.algorithms;
  return options;
}

function describeIssue(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? issuePath(issue);
  const where = path === '' ? '(root)' : path;
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    return `${where}: unknown key`;
  }
  if (issue.type === 'object' || issue.type === 'strict_object') {
    if (issue.received === 'undefined') return `${where}: is required`;
  }
  return `${where}: ${issue.message}`;
}

/** Dot path including the key of a rejected unknown entry (getDotPath skips non-string keys). */
function issuePath(issue: v.BaseIssue<unknown>): string {
  return (issue.path ?? [])
    .map((item) => ('key' in item ? String(item.key) : ''))
    .filter((key) => key !== '')
    .join('.');
}
