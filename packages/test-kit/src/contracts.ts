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

function candidates(): string[] {
  return [
    process.env.OVERSYNC_CONTRACTS_DIR,
    join(repoRoot, '../shared/contracts/oversqlite'),
    join(repoRoot, 'shared/contracts/oversqlite'),
  ].filter((p): p is string => typeof p === 'string' && p !== '');
}

/**
 * True when the contract fixtures are present. On a fresh machine without `../shared`
 * they are not: fixture suites then skip with one line saying so (never silently).
 */
export function contractsAvailable(): boolean {
  const found = candidates().some((c) => existsSync(join(c, 'README.md')));
  if (!found && !warned) {
    warned = true;
    console.warn(
      `SKIP fixture suites: oversqlite contract fixtures not found (tried ${candidates().join(', ')})`,
    );
  }
  return found;
}
let warned = false;

/** Name of the describe block that stands for skipped fixture suites. */
export const FIXTURES_ABSENT = 'fixtures absent: ../shared/contracts/oversqlite not found';

/** Absolute path of the contracts directory; throws when it cannot be found. */
export function contractsDir(): string {
  const all = candidates();
  for (const c of all) {
    if (existsSync(join(c, 'README.md'))) return c;
  }
  throw new Error(
    `oversqlite contract fixtures not found (tried ${all.join(', ')}); set OVERSYNC_CONTRACTS_DIR`,
  );
}

/** Parses a fixture file, e.g. `loadContract('push/basic-insert.json')`. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are free-form JSON
export function loadContract(relativePath: string): any {
  return JSON.parse(readFileSync(join(contractsDir(), relativePath), 'utf8'));
}
