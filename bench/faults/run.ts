/**
 * `npm run bench:faults`: the fault matrix at full size (10,000 operations, every kind of fault twice) on the
 * production topology, with its figures written like the other benchmarks'. BENCH_FAULT_OPERATIONS=500 makes a
 * smoke run. See bench/README.md.
 */
import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { runFaultBenchmark } from './benchmark.js';
import { faultSettingsSchema } from './settings.js';

try {
  await runFaultBenchmark(parseConfig(faultSettingsSchema, process.env), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  exitOnConfigError(error);
}
