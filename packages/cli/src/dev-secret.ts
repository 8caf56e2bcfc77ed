import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Name of the file, inside the data directory, that keeps the dev server's JWT secret. */
export const DEV_SECRET_FILE = 'dev-secret';

/** The JWT secret of the dev server and where it came from. */
export interface DevSecret {
  secret: string;
  source: 'env' | 'file' | 'created';
  /** The secret file (also set when the secret came from `JWT_SECRET`). */
  path: string;
}

/**
 * The dev server's HS256 secret: `JWT_SECRET` when set and not empty, else the content of
 * `<dataDir>/dev-secret`, created once (32 random bytes, base64url, mode 0600) when missing.
 * `oversync dev` and `oversync token` both call this, so their tokens agree.
 */
export function loadOrCreateDevSecret(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): DevSecret {
  const path = join(dataDir, DEV_SECRET_FILE);
  const fromEnv = env.JWT_SECRET;
  if (fromEnv !== undefined && fromEnv.length > 0) return { secret: fromEnv, source: 'env', path };
  const existing = readSecretFile(path);
  if (existing !== null) return { secret: existing, source: 'file', path };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  // Write a private temporary file, then link it into place: readers never see a partial file,
  // and when two processes race, the first link wins and the other reads the winner's secret.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = readSecretFile(path);
    if (winner === null) throw new Error(`${path} disappeared while it was being created`);
    return { secret: winner, source: 'file', path };
  } finally {
    unlinkSync(temporary);
  }
  return { secret, source: 'created', path };
}

function readSecretFile(path: string): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const secret = text.trim();
  if (secret.length === 0) {
    throw new Error(`${path} is empty: delete it to generate a new secret, or set JWT_SECRET`);
  }
  return secret;
}
