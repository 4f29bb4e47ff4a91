/** `npm run bench`: every benchmark, one after another, each on its own freshly started platform. */
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { runLedgerBenchmark } from './ledger/benchmark.js';
import { ledgerSettingsSchema } from './ledger/settings.js';

const progress = (line: string) => process.stdout.write(`${line}\n`);

const BENCHMARKS: Record<string, () => Promise<unknown>> = {
  ledger: () => runLedgerBenchmark(parseConfig(ledgerSettingsSchema, process.env), progress),
};

try {
  for (const [name, run] of Object.entries(BENCHMARKS)) {
    progress(`# ${name}`);
    await run();
  }
} catch (error) {
  exitOnConfigError(error);
}
