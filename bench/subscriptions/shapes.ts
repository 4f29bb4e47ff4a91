import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startCluster } from '../../scripts/cluster/index.js';
import { BENCH_GATEWAY_LIMITS } from './gateway-limits.js';
import { describeKafka, startInfrastructure, TOPIC_PREFIX } from './infrastructure.js';
import { debuggerUrlIn, heapUsedAfterFullGc } from './inspector-heap.js';
import { residentBytesOf, startPlatformProcess } from './platform-process.js';
import type { ShapeName } from './settings.js';

/** The price subgraph's poller must not add ticks of its own to the ones the benchmark publishes. */
const QUIET_PRICES = { PRICE_POLL_INTERVAL_MS: '3600000', PRICE_BACKFILL_DAYS: '1' };

/** The gateway's memory after a full garbage collection. */
export interface GatewayMemory {
  residentBytes: number;
  heapUsedBytes: number;
}

/** One shape, started: where its gateway listens, which process it is, and where its prices go in. */
export interface RunningShape {
  name: ShapeName;
  gatewayUrl: string;
  webSocketUrl: string;
  metricsUrl: string;
  /** The process whose CPU time and memory are reported as the gateway's (in the one-process shape, the subgraphs' too). */
  gatewayPid: number;
  /** What that process holds, for the report. */
  measuredProcess: string;
  kafka: { brokers: string[]; topicPrefix: string; description: string };
  gatewayMemory(): Promise<GatewayMemory>;
  stop(): Promise<void>;
}

export function startShape(name: ShapeName, dataDir: string): Promise<RunningShape> {
  return name === 'production' ? startProduction(dataDir) : startOneProcess(dataDir);
}

/**
 * Each service its own process (scripts/cluster, one instance each). The gateway runs with the inspector open on
 * loopback, so its heap can be read after a full collection without a hook in its code; nothing talks to the
 * inspector between readings.
 */
async function startProduction(dataDir: string): Promise<RunningShape> {
  const cluster = await startCluster({
    dataDir,
    persistent: false,
    ports: 'free',
    topicPrefix: TOPIC_PREFIX,
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      JWT_SECRET: randomBytes(24).toString('hex'),
      // One user signs in before the first crowd connects; its token must outlive the whole run.
      JWT_TTL_SECONDS: String(24 * 3600),
      GATEWAY_SECRET: randomBytes(24).toString('hex'),
      ...QUIET_PRICES,
    },
    serviceEnv: { gateway: { ...BENCH_GATEWAY_LIMITS, NODE_OPTIONS: '--inspect=127.0.0.1:0' } },
  });
  try {
    const gateway = cluster.instances.gateway[0];
    const pid = gateway?.pid();
    if (!gateway || pid === undefined) throw new Error('the cluster started no gateway');
    return {
      name: 'production',
      gatewayUrl: cluster.gatewayUrl,
      webSocketUrl: cluster.gatewayWsUrl,
      metricsUrl: gateway.metricsUrl,
      gatewayPid: pid,
      measuredProcess: 'the gateway alone (each subgraph, PostgreSQL, Kafka and anvil are processes of their own)',
      kafka: { brokers: cluster.kafka.brokers, topicPrefix: cluster.kafka.topicPrefix, description: await describeKafka() },
      async gatewayMemory() {
        const debuggerUrl = debuggerUrlIn(await readFile(gateway.logFile, 'utf8'));
        if (!debuggerUrl) throw new Error(`the gateway's log (${gateway.logFile}) names no inspector to read its heap through`);
        const heapUsedBytes = await heapUsedAfterFullGc(debuggerUrl);
        return { heapUsedBytes, residentBytes: await residentBytesOf(pid) };
      },
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** Kafka, PostgreSQL and anvil here; the gateway and every subgraph in one child process (platform-child.ts), as `npm start` runs them. */
async function startOneProcess(dataDir: string): Promise<RunningShape> {
  const infrastructure = await startInfrastructure(dataDir);
  try {
    const platform = await startPlatformProcess({
      KAFKA_BROKERS: infrastructure.brokers.join(','),
      KAFKA_TOPIC_PREFIX: infrastructure.topicPrefix,
      JWT_SECRET: randomBytes(24).toString('hex'),
      GATEWAY_SECRET: randomBytes(24).toString('hex'),
      BENCH_POSTGRES_URL: infrastructure.postgresUrl,
      ETH_RPC_URL: infrastructure.chain.rpcUrl,
      CONTRACT_ADDRESSES: infrastructure.chain.contractAddressesJson,
    });
    return {
      name: 'one-process',
      gatewayUrl: platform.gatewayUrl,
      webSocketUrl: platform.gatewayUrl.replace(/^http/, 'ws'),
      metricsUrl: platform.metricsUrl,
      gatewayPid: platform.pid,
      measuredProcess: `the gateway and the subgraphs ${platform.subgraphs.join(', ')} (Kafka, PostgreSQL and anvil run apart)`,
      kafka: { brokers: infrastructure.brokers, topicPrefix: infrastructure.topicPrefix, description: infrastructure.kafkaDescription },
      async gatewayMemory() {
        await platform.collectGarbage();
        const stats = await platform.stats();
        return { heapUsedBytes: stats.memory.heapUsed, residentBytes: await platform.residentBytes() };
      },
      async stop() {
        try {
          await platform.stop();
        } finally {
          await infrastructure.stop();
        }
      },
    };
  } catch (error) {
    await infrastructure.stop();
    throw error;
  }
}
