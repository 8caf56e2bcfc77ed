/**
 * Locates the shared oversqlite contract fixtures.
 *
 * They live beside the repository (`<repoRoot>/../shared/contracts/oversqlite`), not inside it,
 * so every path is resolved from this file rather than from the working directory. Setting
 * `OVERSYNC_CONTRACTS_DIR` points the suite elsewhere (also used to check the absent-fixtures path).
 */

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULT_DIR = fileURLToPath(
  new URL('../../../../../shared/contracts/oversqlite/', import.meta.url),
);

/** Absolute path of the fixture folder. */
export const FIXTURES_DIR: string =
  process.env.OVERSYNC_CONTRACTS_DIR !== undefined && process.env.OVERSYNC_CONTRACTS_DIR !== ''
    ? resolve(process.env.OVERSYNC_CONTRACTS_DIR)
    : DEFAULT_DIR;

/** Whether the fixture folder exists; the fixture suite is skipped (visibly) when it does not. */
export const FIXTURES_PRESENT: boolean = existsSync(join(FIXTURES_DIR, 'README.md'));

/** The one line the test report shows when the fixtures are missing. */
export const FIXTURES_ABSENT_LABEL = 'fixtures absent: ../shared/contracts/oversqlite not found';

/** Parses a fixture file given relative to the fixture folder. */
export function readFixture<T>(relativePath: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, relativePath), 'utf8')) as T;
}
