import { type CliIo, processIo } from './io.js';

const FORCE_EXIT_MS = 10_000;
const DRAIN_EXIT_MS = 1_000;

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then lets the process exit (forcing the exit
 * 1 s later if some handle keeps it alive). A second signal, or a `stop` that takes longer than
 * 10 s, exits at once with status 1.
 */
export function onShutdownSignal(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  io: CliIo = processIo,
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      io.err(`\n${signal} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      io.err('shutdown timed out: exiting\n');
      process.exit(1);
    }, FORCE_EXIT_MS).unref();
    stop(signal).then(
      () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
        setTimeout(() => process.exit(process.exitCode ?? 0), DRAIN_EXIT_MS).unref();
      },
      (error: unknown) => {
        io.err(`shutdown failed: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
