/**
 * Access to the shared oversqlite contract fixtures (`shared/contracts/oversqlite`).
 *
 * Looked up in `OVERSYNC_CONTRACTS_DIR`, then in `shared/contracts/oversqlite` beside the
 * repository checkout. A missing directory throws: fixture tests never skip silently.
 *
 * @module
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file is packages/test-kit/src/contracts.ts). */
const repoRoot = resolve(here, '../../..');

/** Absolute path of the contracts directory; throws when it cannot be found. */
export function contractsDir(): string {
  const candidates = [
    process.env.OVERSYNC_CONTRACTS_DIR,
    join(repoRoot, '../shared/contracts/oversqlite'),
    join(repoRoot, 'shared/contracts/oversqlite'),
  ].filter((p): p is string => typeof p === 'string' && p !== '');
  for (const c of candidates) {
    if (existsSync(join(c, 'README.md'))) return c;
  }
  throw new Error(
    `oversqlite contract fixtures not found (tried ${candidates.join(', ')}); set OVERSYNC_CONTRACTS_DIR`,
  );
}

/** Parses a fixture file, e.g. `loadContract('push/basic-insert.json')`. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are free-form JSON
export function loadContract(relativePath: string): any {
  return JSON.parse(readFileSync(join(contractsDir(), relativePath), 'utf8'));
}
