/**
 * Starts the worker thread of worker mode, from compiled `dist` or from TypeScript sources.
 *
 * @module
 */

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './worker-protocol.js';

/**
 * Options of {@link startWorker}.
 *
 * @example
 * ```ts
 * const options: StartWorkerOptions = { init: { filename: 'app.db' } };
 * ```
 */
export interface StartWorkerOptions {
  /** Passed to the worker as `workerData`. */
  readonly init: WorkerInit;
}

// This module runs as `.ts` when the repository resolves packages to their sources (vitest, tsx,
// the `@oversync/source` condition). A worker thread is a fresh Node instance that cannot load
// TypeScript by itself; on Node 20 `--import tsx` in a worker's execArgv is not honoured, and
// registering tsx inside each worker costs about a second per worker. Bundling the entry once
// per process with esbuild (which tsx and vite already bring) starts workers as fast as `dist`.
const FROM_SOURCES = import.meta.url.endsWith('.ts');

interface Esbuild {
  buildSync(options: Record<string, unknown>): { outputFiles?: readonly { text: string }[] };
}

let bundledEntry: string | undefined;

function codeFromSources(): string {
  if (bundledEntry !== undefined) return bundledEntry;
  const here = fileURLToPath(import.meta.url);
  const require = createRequire(here);
  let esbuild: Esbuild;
  try {
    esbuild = require('esbuild') as Esbuild;
  } catch (cause) {
    throw new Error(
      'the better-sqlite3 worker runs from TypeScript sources here and needs `esbuild` installed',
      { cause },
    );
  }
  const result = esbuild.buildSync({
    entryPoints: [fileURLToPath(new URL('./worker-entry.ts', import.meta.url))],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3'],
    logLevel: 'silent',
  });
  const text = result.outputFiles?.[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no bundle of the worker entry');
  // An eval worker is a CommonJS script resolving from the working directory, or an ES module
  // with no `require` at all when the process runs with `--input-type=module`: hand the bundle a
  // `require` that resolves from this package either way.
  const requireHere = `process.getBuiltinModule('node:module').createRequire(${JSON.stringify(here)})`;
  bundledEntry = `(function (require) {\n${text}\n})(${requireHere});`;
  return bundledEntry;
}

/**
 * Starts the worker running `worker-entry` next to this module.
 *
 * @example
 * ```ts
 * const worker = startWorker({ init: { filename: 'app.db' } });
 * worker.postMessage({ id: 1, op: 'all', sql: 'SELECT 1 AS one' });
 * ```
 */
export function startWorker(options: StartWorkerOptions): Worker {
  const workerData = options.init;
  if (FROM_SOURCES) return new Worker(codeFromSources(), { workerData, eval: true });
  return new Worker(new URL('./worker-entry.js', import.meta.url), { workerData });
}
