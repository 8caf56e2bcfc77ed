import { processIo } from './io.js';
import { createProgram, describeError } from './program.js';

try {
  await createProgram(processIo).parseAsync(process.argv);
} catch (error) {
  processIo.err(`oversync: ${describeError(error)}\n`);
  process.exitCode = 1;
}
