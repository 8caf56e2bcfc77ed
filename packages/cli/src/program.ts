import { Command } from 'commander';
import { checkCommand } from './commands/check.js';
import { devCommand } from './commands/dev.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommand } from './commands/token.js';
import { type CliIo, processIo } from './io.js';

/** CLI version (kept in step with package.json). */
export const CLI_VERSION = '0.1.0';

/** The `oversync` command line program. */
export function createProgram(io: CliIo = processIo): Command {
  const program = new Command('oversync')
    .description('oversync: SQLite clients ⇄ PostgreSQL sync server')
    .version(CLI_VERSION)
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .showHelpAfterError()
    .enablePositionalOptions();
  for (const command of [devCommand(io), tokenCommand(io), serveCommand(io), checkCommand(io)]) {
    command.configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
    program.addCommand(command);
  }
  return program;
}

/** One line (or block) explaining a failure, without a stack for expected errors. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map((inner) => describeError(inner)).join('\n');
  }
  const violations = (error as { violations?: unknown }).violations;
  if (Array.isArray(violations)) {
    return [error.message, ...violations.map((v) => `  - ${String(v)}`)].join('\n');
  }
  const expected = ['ConfigError', 'LockHeldError', 'TableValidationError'];
  if (expected.includes(error.name) || (error as NodeJS.ErrnoException).code !== undefined) {
    return error.message;
  }
  return error.stack ?? error.message;
}
