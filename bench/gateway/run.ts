/**
 * `npm run bench:gateway`: our gateway beside Hive Gateway (JS and Rust planners) and the subgraphs directly, on
 * the same subgraph processes, with subgraph request deduplication off and on. BENCH_GATEWAY_SECONDS=2
 * BENCH_GATEWAY_ROUNDS=1 makes a smoke run.
 */
import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { runGatewayBenchmark } from './benchmark.js';
import { gatewaySettingsSchema } from './settings.js';

try {
  await runGatewayBenchmark(parseConfig(gatewaySettingsSchema, process.env), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  exitOnConfigError(error);
}
