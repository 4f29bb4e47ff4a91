import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TOPICS } from '../../lib/events/envelope.js';
import { type AnvilNode, startAnvil } from '../../scripts/infra/anvil.js';
import { deployContracts } from '../../scripts/infra/deploy-contracts.js';
import { ensureKafkaJars, ensureTopics, type KafkaBroker, startKafkaBroker } from '../../scripts/infra/kafka-broker.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../../scripts/infra/postgres.js';
import { freePort } from '../../scripts/infra/ports.js';
import { SUBGRAPH_MODULES } from '../../scripts/subgraphs.js';
import { databaseNameOf, GATEWAY_DATABASE } from './platform-protocol.js';

/** The broker is fresh for every run, so a fixed prefix cannot meet an earlier run's messages. */
export const TOPIC_PREFIX = 'bench.';
/** As the tests create them; every MCO2 event has the same key, so one partition carries all of them. */
const TOPIC_PARTITIONS = 3;

/** What the platform runs on: a real Kafka broker and a throwaway PostgreSQL server, both in `workDir`, and a local chain. */
export interface Infrastructure {
  brokers: string[];
  topicPrefix: string;
  /** The server's maintenance database; every subgraph's own database is on the same server. */
  postgresUrl: string;
  /** anvil with the contracts deployed, for the blockchain subgraph (as test/support/stack.ts gives it one). */
  chain: { rpcUrl: string; contractAddressesJson: string };
  /** e.g. `Kafka 3.9.1`, from the jars the broker runs. */
  kafkaDescription: string;
  stop(): Promise<void>;
}

/**
 * Starts Kafka (with every topic of DESIGN.md under TOPIC_PREFIX), PostgreSQL (with one database per subgraph)
 * and anvil (with the contracts deployed). Whatever started is stopped again if a later part fails to start.
 */
export async function startInfrastructure(workDir: string): Promise<Infrastructure> {
  let broker: KafkaBroker | undefined;
  let postgres: EmbeddedPostgresServer | undefined;
  let anvil: AnvilNode | undefined;
  const stop = async () => {
    try {
      await anvil?.stop();
    } finally {
      try {
        await postgres?.stop();
      } finally {
        await broker?.stop();
      }
    }
  };
  try {
    broker = await startKafkaBroker({ dataDir: join(workDir, 'kafka') });
    await ensureTopics(broker.brokers, TOPICS.map((topic) => `${TOPIC_PREFIX}${topic}`), TOPIC_PARTITIONS);
    postgres = await startEmbeddedPostgres({
      dataDir: join(workDir, 'postgres'),
      port: await freePort(),
      persistent: false,
      user: 'bench',
      password: randomBytes(12).toString('hex'),
    });
    for (const subgraph of Object.keys(SUBGRAPH_MODULES)) await postgres.createDatabaseIfMissing(databaseNameOf(subgraph));
    await postgres.createDatabaseIfMissing(GATEWAY_DATABASE);
    anvil = await startAnvil();
    const contracts = await deployContracts({ rpcUrl: anvil.rpcUrl });
    return {
      brokers: broker.brokers,
      topicPrefix: TOPIC_PREFIX,
      postgresUrl: postgres.url('postgres'),
      chain: { rpcUrl: anvil.rpcUrl, contractAddressesJson: JSON.stringify(contracts) },
      kafkaDescription: await describeKafka(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The version in the broker's own jar name (`kafka_2.13-3.9.1.jar`); the jars are already fetched by now. */
export async function describeKafka(): Promise<string> {
  const jars = await readdir(await ensureKafkaJars());
  const version = jars.map((jar) => /^kafka_[\d.]+-([\d.]+)\.jar$/.exec(jar)?.[1]).find(Boolean);
  return `Kafka ${version ?? '(unknown version)'}`;
}
