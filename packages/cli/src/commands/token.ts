import { resolve } from 'node:path';
import { signDevToken } from '@oversync/server';
import { Command } from 'commander';
import { loadOrCreateDevSecret } from '../dev-secret.js';
import { type CliIo, processIo } from '../io.js';
import { DEFAULT_DATA_DIR, parsePositiveInt } from '../options.js';

/** Default lifetime of `oversync token` tokens: 24 hours. */
export const DEFAULT_TOKEN_TTL_SECONDS = 86_400;

/** Options of {@link createDevToken}. */
export interface TokenOptions {
  userId: string;
  dataDir?: string;
  expiresInSeconds?: number;
  env?: NodeJS.ProcessEnv;
}

/** Signs a token the dev server accepts (same secret lookup as `oversync dev`). */
export async function createDevToken(options: TokenOptions): Promise<string> {
  const userId = options.userId.trim();
  if (userId.length === 0 || userId.length > 255) {
    throw new Error('the user id must be 1 to 255 characters');
  }
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const { secret } = loadOrCreateDevSecret(dataDir, options.env ?? process.env);
  return signDevToken(secret, userId, {
    expiresInSeconds: options.expiresInSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
  });
}

/** `oversync token <userId>`: prints the token as the last line of stdout. */
export function tokenCommand(io: CliIo = processIo): Command {
  return new Command('token')
    .description('print a bearer token that `oversync dev` accepts (last line of stdout)')
    .argument('<userId>', 'user id (the `sub` claim; the sync scope)')
    .option('--data-dir <dir>', 'data directory holding the dev secret', DEFAULT_DATA_DIR)
    .option(
      '--expires-in <seconds>',
      'token lifetime in seconds',
      parsePositiveInt,
      DEFAULT_TOKEN_TTL_SECONDS,
    )
    .action(async (userId: string, opts: { dataDir: string; expiresIn: number }) => {
      const token = await createDevToken({
        userId,
        dataDir: opts.dataDir,
        expiresInSeconds: opts.expiresIn,
        env: io.env,
      });
      io.out(`${token}\n`);
    });
}
