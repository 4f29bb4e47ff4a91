/** `npm run bench`: every benchmark, one after another, each on its own freshly started platform. */
import { exitOnConfigError, parseConfig } from '../lib/config.js';
import { runFaultBenchmark } from './faults/benchmark.js';
import { runGatewayBenchmark } from './gateway/benchmark.js';
import { gatewaySettingsSchema } from './gateway/settings.js';
import { faultSettingsSchema } from './faults/settings.js';
import { runLedgerBenchmark } from './ledger/benchmark.js';
import { ledgerSettingsSchema } from './ledger/settings.js';
import { runSubscriptionBenchmark } from './subscriptions/benchmark.js';
import { subscriptionSettingsSchema } from './subscriptions/settings.js';
import { runValidationBenchmark } from './validation/benchmark.js';
import { validationSettingsSchema } from './validation/settings.js';

const progress = (line: string) => process.stdout.write(`${line}\n`);

try {
  // Every benchmark's settings are checked before the first starts, so a typo does not surface minutes later.
  const ledgerSettings = parseConfig(ledgerSettingsSchema, process.env);
  const subscriptionSettings = parseConfig(subscriptionSettingsSchema, process.env);
  const validationSettings = parseConfig(validationSettingsSchema, process.env);
  const gatewaySettings = parseConfig(gatewaySettingsSchema, process.env);
  const faultSettings = parseConfig(faultSettingsSchema, process.env);
  const BENCHMARKS: Record<string, () => Promise<unknown>> = {
    ledger: () => runLedgerBenchmark(ledgerSettings, progress),
    subscriptions: () => runSubscriptionBenchmark(subscriptionSettings, progress),
    validation: () => runValidationBenchmark(validationSettings, progress),
    gateway: () => runGatewayBenchmark(gatewaySettings, progress),
    faults: () => runFaultBenchmark(faultSettings, progress),
  };
  for (const [name, run] of Object.entries(BENCHMARKS)) {
    progress(`# ${name}`);
    await run();
  }
} catch (error) {
  exitOnConfigError(error);
}
