/**
 * `npm run bench:subscriptions`: 1,000, 5,000 and 10,000 WebSocket subscribers to one price through the gateway,
 * in the production shape and in one process, from several client processes; Kafka-to-client latency beside a
 * plain kafkajs consumer, and the gateway's CPU and memory per subscriber.
 * BENCH_SUBSCRIBERS=200 BENCH_TICKS=3 makes a smoke run. See bench/README.md.
 */
import { exitOnConfigError, parseConfig } from '../../lib/config.js';
import { runSubscriptionBenchmark } from './benchmark.js';
import { subscriptionSettingsSchema } from './settings.js';

try {
  await runSubscriptionBenchmark(parseConfig(subscriptionSettingsSchema, process.env), (line) => process.stdout.write(`${line}\n`));
} catch (error) {
  exitOnConfigError(error);
}
