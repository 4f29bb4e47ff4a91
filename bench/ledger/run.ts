/**
 * `npm run bench:ledger`: transfers per second and CPU per transfer by process, through the gateway and straight to
 * the transaction subgraph, with the services in one process and each in its own (BENCH_SHAPES), beside pgbench on
 * the same PostgreSQL server. BENCH_SECONDS=1 makes a smoke run. See bench/README.md.
 */
import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { runLedgerBenchmark } from './benchmark.js';
import { ledgerSettingsSchema } from './settings.js';

try {
  await runLedgerBenchmark(parseConfig(ledgerSettingsSchema, process.env), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  exitOnConfigError(error);
}
