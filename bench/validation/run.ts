/**
 * `npm run bench:validation`: how long the gateway takes to refuse or accept a 64 KB document of each hostile
 * shape, and what the operation limits cost the `me` query. BENCH_VALIDATION_ROUND_SECONDS=1 makes a smoke run.
 */
import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { runValidationBenchmark } from './benchmark.js';
import { validationSettingsSchema } from './settings.js';

try {
  await runValidationBenchmark(parseConfig(validationSettingsSchema, process.env), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  exitOnConfigError(error);
}
