import { checkRegisteredTables, createPgDatabase } from '@oversync/server';
import { Command, Option } from 'commander';
import { loadConfigFile } from '../config-file.js';
import { type CliIo, processIo } from '../io.js';

/** Options of {@link runCheck}. */
export interface CheckOptions {
  databaseUrl: string;
  configPath: string;
}

/** The result of {@link runCheck}. */
export interface CheckResult {
  tableCount: number;
  violations: string[];
}

/** Validates the config's registered tables against the database; lists every violation. */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  const config = await loadConfigFile(options.configPath);
  const db = createPgDatabase({ connectionString: options.databaseUrl, max: 1 });
  try {
    const violations = await checkRegisteredTables(db, config.tables);
    return { tableCount: config.tables.length, violations };
  } finally {
    await db.close();
  }
}

/** `oversync check`: exit status 1 when a registered table is not usable. */
export function checkCommand(io: CliIo = processIo): Command {
  return new Command('check')
    .description('check that the registered tables of a config file are valid in PostgreSQL')
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL connection string')
        .env('DATABASE_URL')
        .makeOptionMandatory(),
    )
    .requiredOption('--config <file>', 'config file (JSON)')
    .action(async (opts: { databaseUrl: string; config: string }) => {
      const { tableCount, violations } = await runCheck({
        databaseUrl: opts.databaseUrl,
        configPath: opts.config,
      });
      if (violations.length === 0) {
        io.out(`all ${tableCount} tables valid\n`);
        return;
      }
      io.out(`${violations.length} problem(s) found:\n`);
      for (const violation of violations) io.out(`  - ${violation}\n`);
      process.exitCode = 1;
    });
}
