import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../lib/auth/identity.js';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/subgraphs.js';
import { subgraphUrlVariable } from '../../gateway/src/config.js';
import { supergraphRoutedTo } from '../../scripts/infra/hive-gateway.js';
import type { Cluster } from '../../scripts/cluster/index.js';
import { type ProcessSpec, SupervisedProcess } from '../../scripts/cluster/supervisor.js';
import { freePort } from '../../scripts/infra/ports.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { TOPICS } from '../../lib/events/envelope.js';
import { startPlatformProcess } from '../subscriptions/platform-process.js';
import type { BenchQuery } from './queries.js';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const HEALTHY_TIMEOUT_MS = 120_000;
const SINGLE_PROCESS_TOPIC_PREFIX = 'bench-single-process.';
const SINGLE_PROCESS_TOPIC_PARTITIONS = 1;

export type Mode = 'off' | 'on';
/** Off first: the single process, measured with its defaults (on), joins the second mode only. */
export const MODES: readonly Mode[] = ['off', 'on'];
export type TargetName = 'ours' | 'hive-js' | 'hive-rust' | 'direct' | 'ours-single-process';
export const TARGET_NAMES: readonly TargetName[] = ['ours', 'hive-js', 'hive-rust', 'direct', 'ours-single-process'];

/** What a gateway target answers with: its URL, and the process whose CPU is its cost. */
export interface RunningTarget {
  url: string;
  pid(): number | undefined;
  /** How it exited when it did, each time: a target that died during a cell makes the run fail, naming its log. */
  exits(): string[];
  stop(): Promise<void>;
}

/** The secrets and settings every process of the run shares, so one user token and one credential work everywhere. */
export interface SharedSecrets {
  JWT_SECRET: string;
  GATEWAY_SECRET: string;
  JWT_TTL_SECONDS: string;
}

const origin = (port: number) => `http://127.0.0.1:${port}`;

/**
 * A process supervised as the cluster supervises its own (scripts/cluster/supervisor.ts): log file, health URL,
 * SIGTERM then SIGKILL on stop. Its exits are kept, so a crash during a cell is not hidden by the restart.
 */
async function startProcess(spec: ProcessSpec): Promise<RunningTarget> {
  const exits: string[] = [];
  const supervised = new SupervisedProcess(spec, (restart) => exits.push(`${spec.label} exited (${restart.exit}); see ${spec.logFile}`));
  await supervised.start();
  try {
    await supervised.whenHealthy(HEALTHY_TIMEOUT_MS);
  } catch (error) {
    await supervised.stop();
    throw error;
  }
  return { url: new URL('/graphql', spec.healthUrl).toString(), pid: () => supervised.pid(), exits: () => [...exits], stop: () => supervised.stop() };
}

/**
 * Our gateway as its own OS process, started as the cluster starts its gateway (`node --import tsx
 * gateway/src/index.ts`, the same variables) over the cluster's subgraphs, with SUBGRAPH_DEDUPLICATION set.
 */
export async function startOurGateway(cluster: Cluster, env: Record<string, string>, mode: Mode, logDir: string): Promise<RunningTarget> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), cluster.instances[name][0]!.url]));
  return startProcess({
    label: `our gateway, deduplication ${mode}`,
    command: process.execPath,
    args: ['--import', 'tsx', 'gateway/src/index.ts'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...env,
      HOST: '127.0.0.1',
      KAFKA_BROKERS: cluster.kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: cluster.kafka.topicPrefix,
      ...subgraphUrls,
      TRUSTED_PROXY_HOPS: '0',
      SUBGRAPH_DEDUPLICATION: mode,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: cluster.databaseUrl('gateway'),
    },
    cwd: root,
    logFile: join(logDir, `our-gateway-${mode}.log`),
    healthUrl: `${origin(port)}/ready`,
  });
}

/** Hive Gateway in a process of its own (hive-gateway.ts) with the given planner and subgraph deduplication. */
export async function startHiveGateway(planner: 'js' | 'rust', supergraphPath: string, secrets: SharedSecrets, mode: Mode, logDir: string): Promise<RunningTarget> {
  const port = await freePort();
  return startProcess({
    label: `Hive Gateway (${planner} planner), deduplication ${mode}`,
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/gateway/hive-gateway.ts'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...secrets, PORT: String(port), SUPERGRAPH_PATH: supergraphPath, HIVE_QUERY_PLANNER: planner, HIVE_SUBGRAPH_DEDUPLICATION: mode },
    cwd: root,
    logFile: join(logDir, `hive-${planner}-${mode}.log`),
    healthUrl: `${origin(port)}/readiness`,
  });
}

/**
 * `npm start`'s shape: one Node process running the five subgraphs and the gateway (bench/subscriptions'
 * platform process), over the cluster's databases and broker. Its gateway runs with its defaults, which is
 * deduplication on; its subgraphs are its own, so its CPU is the whole request's.
 */
export async function startSingleProcess(cluster: Cluster, secrets: SharedSecrets): Promise<RunningTarget> {
  // Its relays and consumers keep to topics of their own; a read-only benchmark gives them nothing to publish.
  await ensureTopics(cluster.kafka.brokers, TOPICS.map((topic) => `${SINGLE_PROCESS_TOPIC_PREFIX}${topic}`), SINGLE_PROCESS_TOPIC_PARTITIONS);
  const platform = await startPlatformProcess({
    KAFKA_BROKERS: cluster.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: SINGLE_PROCESS_TOPIC_PREFIX,
    JWT_SECRET: secrets.JWT_SECRET,
    GATEWAY_SECRET: secrets.GATEWAY_SECRET,
    BENCH_POSTGRES_URL: cluster.databaseUrl('user'),
    ETH_RPC_URL: cluster.chain.rpcUrl,
    CONTRACT_ADDRESSES: JSON.stringify(cluster.chain.contracts),
  });
  return {
    url: platform.gatewayUrl,
    pid: () => platform.pid,
    exits: () => (existsSync(`/proc/${platform.pid}`) ? [] : [`the single process (pid ${platform.pid}) exited`]),
    stop: () => platform.stop(),
  };
}

/**
 * Writes the committed supergraph with only its routing URLs (`@join__graph(url:)`) changed to where the cluster's
 * subgraphs listen, for Hive Gateway to load, and returns its path.
 */
export async function writeRoutedSupergraph(cluster: Cluster, dir: string): Promise<string> {
  const routed = supergraphRoutedTo((name) => cluster.instances[name as SubgraphName]?.[0]?.url);
  const path = join(dir, 'supergraph-routed.graphql');
  await writeFile(path, routed);
  return path;
}

/**
 * The direct path of a query: its subgraph's URL and the internal credential the gateway would send for the user.
 * A new credential object per cell, so the token it mints lives its full 60 s from the cell's start.
 */
export async function directRequest(cluster: Cluster, query: BenchQuery, gatewaySecret: string, user: { id: string; role: Role }): Promise<{ url: string; headers: Record<string, string>; pid: number | undefined }> {
  const instance = cluster.instances[query.direct.subgraph][0]!;
  const token = await new InternalCredential(gatewaySecret).mint({ kind: 'gateway', identity: { userId: user.id, role: user.role } });
  return { url: instance.url, headers: { [INTERNAL_CREDENTIAL_HEADER]: token }, pid: instance.pid() };
}
