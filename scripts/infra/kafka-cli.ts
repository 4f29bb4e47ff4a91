/**
 * `npm run kafka`: a real Kafka broker on loopback for `npm start` and manual testing, with every topic
 * created. Data lives under .data/kafka and survives restarts; Ctrl-C stops the broker cleanly.
 */
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { commonConfigShape, exitOnConfigError, parseConfig, port } from '../../lib/config.js';
import { TOPICS } from '../../lib/events/envelope.js';
import { ensureTopics, startKafkaBroker } from './kafka-broker.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PARTITIONS = 3;

const kafkaCliConfigSchema = z.object({
  KAFKA_PORT: port(9092),
  DATA_DIR: z.string().default(resolve(root, '.data')),
  // The services put this in front of every topic name, so the broker must have the same names.
  KAFKA_TOPIC_PREFIX: commonConfigShape.KAFKA_TOPIC_PREFIX,
});

async function main() {
  const settings = parseConfig(kafkaCliConfigSchema, process.env);
  const dataDir = resolve(settings.DATA_DIR, 'kafka');
  const startedAtMs = performance.now();
  const broker = await startKafkaBroker({ dataDir, port: settings.KAFKA_PORT, log: (line) => process.stderr.write(`[kafka] ${line}\n`) });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    process.stdout.write(`${signal}: stopping Kafka…\n`);
    stopping ??= broker.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // The broker's process does not hold Node's event loop (see startKafkaBroker); this keeps the CLI up until a signal.
  const keepAlive = setInterval(() => {}, 60_000);
  void broker.exited.then((code) => {
    if (stopping) return;
    clearInterval(keepAlive);
    process.stderr.write(`Kafka broker exited on its own (code ${code}); see ${relative(root, dataDir)}/server.log\n`);
    process.exit(1);
  });

  const topics = TOPICS.map((topic) => settings.KAFKA_TOPIC_PREFIX + topic);
  try {
    await ensureTopics(broker.brokers, topics, PARTITIONS);
  } catch (error) {
    stopping = broker.stop();
    await stopping;
    throw error;
  }
  const seconds = ((performance.now() - startedAtMs) / 1000).toFixed(1);
  process.stdout.write(
    [
      `Kafka ready in ${seconds} s (data and server.log in ${relative(root, dataDir)}; Ctrl-C to stop)`,
      `  topics: ${topics.join(', ')} (${PARTITIONS} partitions each)`,
      `KAFKA_BROKERS=${broker.brokers.join(',')}`,
      '',
    ].join('\n'),
  );
}

main().catch(exitOnConfigError);
