/**
 * The production topology on one machine, without Docker: one PostgreSQL server holding each subgraph's database
 * and the gateway's, a real Kafka broker, anvil with the contracts deployed, each subgraph migrated by a one-shot
 * step and then run as its own OS process (`replicas` of each), the gateway(s) in front, and with two or more
 * replicas HAProxy balancing over the instances of each service as a Kubernetes Service would. A small supervisor
 * restarts any service process that dies. `npm run start:cluster` runs it; fault tests drive it through `Cluster`.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOPICS } from '../../lib/events/envelope.js';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/subgraphs.js';
import { type AnvilNode, startAnvil } from '../infra/anvil.js';
import { type ContractAddresses, ensureContracts } from '../infra/deploy-contracts.js';
import { ensureTopics, type KafkaBroker, startKafkaBroker } from '../infra/kafka-broker.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../infra/postgres.js';
import { ensureHaproxy, type Frontend, writeHaproxyConfig } from './haproxy.js';
import { CLUSTER_SERVICES, type ClusterService, fixedPorts, freePorts, type PortPlan, REPLICAS_MAX } from './ports.js';
import { type ProcessSpec, runToCompletion, SupervisedProcess } from './supervisor.js';
import { Teardown } from '../infra/teardown.js';
import { subgraphUrlVariable } from '../../gateway/src/config.js';

export type { ClusterService };
export { CLUSTER_SERVICES, REPLICAS_MAX };

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TOPIC_PARTITIONS = 3;
const MIGRATE_TIMEOUT_MS = 120_000;
const HEALTHY_TIMEOUT_MS = 120_000;

export interface ClusterOptions {
  /** Instances of each service (default 1); two or more run behind HAProxy. */
  replicas?: number;
  /** Where PostgreSQL, Kafka, the chain, HAProxy's configuration and every process's log live. */
  dataDir: string;
  /** Keep `dataDir` when stopping (`npm run start:cluster`); tests use a throwaway one. */
  persistent: boolean;
  /** `fixed`: the well-known ports of `npm run start:cluster` (gateway 4100); `free`: any free ones (tests). */
  ports: 'fixed' | 'free';
  /** Settings for every service process. */
  env?: Record<string, string | undefined>;
  /** Settings for one service's processes, by name (`gateway` too). */
  serviceEnv?: Partial<Record<ClusterService, Record<string, string>>>;
  /** Progress and restarts, one line each. */
  log?: (line: string) => void;
  topicPrefix?: string;
}

export interface ClusterInstance {
  service: ClusterService;
  index: number;
  /** This instance's own /graphql, not through HAProxy. */
  url: string;
  /** The gateway's Prometheus endpoint (a port of its own); a subgraph serves /metrics next to /graphql. */
  metricsUrl: string;
  logFile: string;
  pid(): number | undefined;
  restarts(): number;
  /** Sends `signal` (SIGKILL by default) and resolves once the process has exited; the supervisor then restarts it. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  whenHealthy(timeoutMs?: number): Promise<void>;
}

export interface RestartRecord {
  service: ClusterService;
  index: number;
  at: Date;
  exit: string;
}

export interface Cluster {
  /** http://127.0.0.1:PORT/graphql, through HAProxy when replicas >= 2. */
  gatewayUrl: string;
  gatewayWsUrl: string;
  instances: Record<ClusterService, ClusterInstance[]>;
  /** HAProxy's statistics page (CSV with `;csv`), when there are replicas. */
  haproxyStatsUrl: string | undefined;
  logDir: string;
  databaseUrl(service: ClusterService): string;
  /**
   * `restart()` stops and starts the PostgreSQL server on the same port and data; the services must survive it.
   * `pid()` is the postmaster's, whose children are every backend; undefined while it is down.
   */
  postgres: { restart(): Promise<void>; pid(): number | undefined };
  /** `restart()` stops and starts the broker on the same ports and log folder; `pid()` is the JVM's while it runs. */
  kafka: { brokers: string[]; topicPrefix: string; restart(): Promise<void>; pid(): number | undefined };
  chain: { rpcUrl: string; contracts: ContractAddresses };
  restartLog(): RestartRecord[];
  /** Resolves when every instance is healthy and, with replicas, HAProxy sees every one of them up. */
  whenHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const databaseOf = (service: ClusterService) => (service === 'gateway' ? 'gateway_db' : `${service}_service_db`);
const serviceUrlVariable = (name: SubgraphName) => `${name.toUpperCase()}_SERVICE_URL`;

/**
 * Starts the whole cluster and resolves when every instance is healthy. When a part fails to start, whatever
 * had started is stopped before the error is thrown.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > REPLICAS_MAX) throw new Error(`replicas must be a whole number from 1 to ${REPLICAS_MAX}, not ${replicas}`);
  const teardown = new Teardown();
  if (!options.persistent) teardown.add(() => rm(options.dataDir, { recursive: true, force: true }));
  try {
    return await startParts({ ...options, replicas }, teardown);
  } catch (error) {
    await teardown.run().catch(() => {});
    throw error;
  }
}

type Settings = ClusterOptions & { replicas: number };

const origin = (port: number) => `http://127.0.0.1:${port}`;
/** What the supervisor waits for before it calls an instance started: a gateway also waits for its subgraphs. */
const healthPathOf = (service: ClusterService) => (service === 'gateway' ? '/ready' : '/health');

async function startParts(options: Settings, teardown: Teardown): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  // PostgreSQL runs as its own user when we are root, and must be able to enter the folder (a temporary one is 0700).
  await chmod(dataDir, 0o755);
  const ports = options.ports === 'fixed' ? fixedPorts(options.replicas) : await freePorts(options.replicas);
  const haproxyBinary = options.replicas >= 2 ? await ensureHaproxy(log) : undefined;

  log('starting PostgreSQL, Kafka and anvil');
  const infrastructure = await startInfrastructure(dataDir, options, ports, teardown);
  const { postgresServer, anvil, contracts, topicPrefix } = infrastructure;
  const brokers = infrastructure.kafka().brokers;
  const haproxy = haproxyBinary ? await startHaproxy(haproxyBinary, dataDir, logDir, ports, log, teardown) : undefined;

  const envOf = environments(options, ports, infrastructure, haproxy !== undefined);
  const restarts: RestartRecord[] = [];
  const instances = {} as Record<ClusterService, ClusterInstance[]>;
  const processes = {} as Record<ClusterService, SupervisedProcess[]>;
  const startService = async (service: ClusterService) => {
    const started = await superviseService(service, { replicas: options.replicas, ports, envOf, logDir, log, restarts, teardown });
    processes[service] = started.map(({ supervised }) => supervised);
    instances[service] = started.map(({ instance }) => instance);
  };

  // Each subgraph is migrated once, before any of its instances starts; the subgraphs do not wait for each other.
  log(`migrating and starting ${options.replicas} instance(s) of each subgraph (logs in ${logDir})`);
  await Promise.all(
    SUBGRAPH_NAMES.map(async (name) => {
      const migrateEnv = { PATH: process.env.PATH ?? '', DATABASE_URL: postgresServer.url(databaseOf(name)) };
      const migrate = { label: `${name} migrate`, command: process.execPath, args: ['--import', 'tsx', 'scripts/migrate.ts', name], env: migrateEnv, cwd: root, logFile: join(logDir, `${name}-migrate.log`) };
      await runToCompletion(migrate, MIGRATE_TIMEOUT_MS);
      await startService(name);
    }),
  );
  await Promise.all(SUBGRAPH_NAMES.flatMap((name) => processes[name].map((supervised) => supervised.whenHealthy(HEALTHY_TIMEOUT_MS))));
  log('starting the gateway');
  await startService('gateway');

  const statsUrl = haproxy ? `${origin(ports.haproxyStats)}/stats` : undefined;
  const whenHealthy = async (timeoutMs = HEALTHY_TIMEOUT_MS) => {
    await Promise.all(CLUSTER_SERVICES.flatMap((service) => processes[service].map((supervised) => supervised.whenHealthy(timeoutMs))));
    if (statsUrl) await haproxySeesAllUp(statsUrl, timeoutMs);
  };
  await whenHealthy();

  let stopping: Promise<void> | undefined;
  return {
    gatewayUrl: `${origin(ports.service.gateway)}/graphql`,
    gatewayWsUrl: `ws://127.0.0.1:${ports.service.gateway}/graphql`,
    instances,
    haproxyStatsUrl: statsUrl,
    logDir,
    databaseUrl: (service) => postgresServer.url(databaseOf(service)),
    postgres: { restart: () => postgresServer.restart(), pid: () => postgresServer.pid() },
    // The broker comes back on the same ports, so its address list never changes.
    kafka: { brokers, topicPrefix, restart: infrastructure.restartKafka, pid: () => infrastructure.kafka().pid() },
    chain: { rpcUrl: anvil.rpcUrl, contracts },
    restartLog: () => [...restarts],
    whenHealthy,
    stop: () => {
      stopping ??= stopInOrder(processes, teardown);
      return stopping;
    },
  };
}

/**
 * Each instance's environment: the caller's settings, then where everything is (a service's address is HAProxy's
 * frontend when there are replicas), then the instance's own port and database, which nothing overrides.
 */
function environments(options: Settings, ports: PortPlan, infrastructure: Infrastructure, behindProxy: boolean) {
  const { postgresServer, anvil, contracts, topicPrefix } = infrastructure;
  const common: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...withoutUndefined(options.env ?? {}),
    HOST: '127.0.0.1',
    KAFKA_BROKERS: infrastructure.kafka().brokers.join(','),
    KAFKA_TOPIC_PREFIX: topicPrefix,
  };
  const serviceUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [serviceUrlVariable(name), origin(ports.service[name])]));
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), `${origin(ports.service[name])}/graphql`]));
  const gatewayOrigin = origin(ports.service.gateway);
  const chain = { ETH_RPC_URL: anvil.rpcUrl, CONTRACT_ADDRESSES: JSON.stringify(contracts), SIWE_DOMAIN: new URL(gatewayOrigin).host, SIWE_URI: gatewayOrigin };
  return (service: ClusterService, index: number): Record<string, string> => {
    const own = { PORT: String(ports.instances[service][index]), DATABASE_URL: postgresServer.url(databaseOf(service)) };
    if (service === 'gateway') {
      // Behind HAProxy, which appends the client to X-Forwarded-For, the client is one hop back.
      const gatewayOwn = { ...own, METRICS_PORT: String(ports.gatewayMetrics[index]) };
      return { ...common, ...subgraphUrls, TRUSTED_PROXY_HOPS: behindProxy ? '1' : '0', ...options.serviceEnv?.gateway, ...gatewayOwn };
    }
    return { ...common, ...serviceUrls, ...chain, ...options.serviceEnv?.[service], ...own };
  };
}

interface ServiceSetting {
  replicas: number;
  ports: PortPlan;
  envOf: (service: ClusterService, index: number) => Record<string, string>;
  logDir: string;
  log: (line: string) => void;
  restarts: RestartRecord[];
  teardown: Teardown;
}

/** Starts `replicas` supervised processes of one service, each on its own port; resolves once they are spawned. */
async function superviseService(service: ClusterService, setting: ServiceSetting) {
  const started: { supervised: SupervisedProcess; instance: ClusterInstance }[] = [];
  for (let index = 0; index < setting.replicas; index += 1) {
    const port = setting.ports.instances[service][index]!;
    const spec: ProcessSpec = {
      label: `${service}#${index}`,
      command: process.execPath,
      args: ['--import', 'tsx', service === 'gateway' ? 'gateway/src/index.ts' : `subgraphs/${service}/src/index.ts`],
      env: setting.envOf(service, index),
      cwd: root,
      logFile: join(setting.logDir, `${service}-${index}.log`),
      healthUrl: `${origin(port)}${healthPathOf(service)}`,
    };
    const supervised = new SupervisedProcess(spec, (restart) => {
      setting.restarts.push({ service, index, ...restart });
      setting.log(`${spec.label} exited (${restart.exit}); restarting it (restart ${supervised.restarts()}, log ${spec.logFile})`);
    });
    setting.teardown.add(() => supervised.stop());
    await supervised.start();
    const metricsUrl = service === 'gateway' ? `${origin(setting.ports.gatewayMetrics[index]!)}/metrics` : `${origin(port)}/metrics`;
    const instance: ClusterInstance = {
      service,
      index,
      url: `${origin(port)}/graphql`,
      metricsUrl,
      logFile: spec.logFile,
      pid: () => supervised.pid(),
      restarts: () => supervised.restarts(),
      kill: (signal) => supervised.kill(signal),
      whenHealthy: (timeoutMs) => supervised.whenHealthy(timeoutMs),
    };
    started.push({ supervised, instance });
  }
  return started;
}

/** HAProxy with one frontend per service, itself supervised; its configuration is kept in the data folder. */
async function startHaproxy(binary: string, dataDir: string, logDir: string, ports: PortPlan, log: (line: string) => void, teardown: Teardown): Promise<SupervisedProcess> {
  const configPath = join(dataDir, 'haproxy.cfg');
  const frontends: Frontend[] = CLUSTER_SERVICES.map((service) => ({
    name: service,
    port: ports.service[service],
    // The balancer asks whether the instance itself is alive, never whether its dependencies are: a gateway's /ready
    // fails while any subgraph is out, and checking it took every gateway out at once whenever one subgraph
    // instance was slow (seen in the fault matrix: the whole API answered 503 although both gateways could serve).
    healthPath: '/health',
    serverPorts: ports.instances[service],
  }));
  await writeHaproxyConfig(binary, configPath, frontends, ports.haproxyStats);
  const haproxy = new SupervisedProcess(
    { label: 'haproxy', command: binary, args: ['-db', '-f', configPath], env: { PATH: process.env.PATH ?? '' }, cwd: dataDir, logFile: join(logDir, 'haproxy.log'), healthUrl: `${origin(ports.haproxyStats)}/stats` },
    (restart) => log(`haproxy exited (${restart.exit}); restarting it`),
  );
  teardown.add(() => haproxy.stop());
  await haproxy.start();
  return haproxy;
}

/** The gateways first, then every subgraph instance (SIGTERM, graceful), then the rest last-started-first. */
async function stopInOrder(processes: Record<ClusterService, SupervisedProcess[]>, teardown: Teardown): Promise<void> {
  for (const supervised of Object.values(processes).flat()) supervised.holdRestarts();
  await Promise.allSettled(processes.gateway.map((supervised) => supervised.stop()));
  await Promise.allSettled(SUBGRAPH_NAMES.flatMap((name) => processes[name].map((supervised) => supervised.stop())));
  // Stopping twice is a no-op, so the teardown's own steps for the processes cost nothing.
  await teardown.run();
}

interface Infrastructure {
  postgresServer: EmbeddedPostgresServer;
  kafka(): KafkaBroker;
  restartKafka(): Promise<void>;
  anvil: AnvilNode;
  contracts: ContractAddresses;
  topicPrefix: string;
}

/** PostgreSQL, Kafka and anvil side by side, then the databases, topics and contracts each service expects. */
async function startInfrastructure(dataDir: string, options: Settings, ports: PortPlan, teardown: Teardown): Promise<Infrastructure> {
  const kafkaOptions = { dataDir: join(dataDir, 'kafka'), port: ports.kafka, controllerPort: ports.kafkaController };
  const started = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: ports.postgres, persistent: options.persistent }),
    startKafkaBroker(kafkaOptions),
    startAnvil({ port: ports.anvil, stateFile: options.persistent ? join(dataDir, 'anvil-state.json') : undefined }),
  ]);
  // Stopped last of all, in this order: anvil, then Kafka, then PostgreSQL.
  const [postgresStart, kafkaStart, anvilStart] = started;
  if (postgresStart.status === 'fulfilled') teardown.add(() => postgresStart.value.stop());
  let broker = kafkaStart.status === 'fulfilled' ? kafkaStart.value : undefined;
  teardown.add(async () => broker?.stop());
  if (anvilStart.status === 'fulfilled') teardown.add(() => anvilStart.value.stop());
  if (postgresStart.status === 'rejected' || kafkaStart.status === 'rejected' || anvilStart.status === 'rejected') {
    const reasons = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    throw new Error(`Could not start the cluster's infrastructure:\n${reasons.join('\n')}`);
  }
  const postgresServer = postgresStart.value;
  const anvil = anvilStart.value;
  const topicPrefix = options.topicPrefix ?? '';
  for (const service of CLUSTER_SERVICES) await postgresServer.createDatabaseIfMissing(databaseOf(service));
  await ensureTopics(kafkaStart.value.brokers, TOPICS.map((topic) => `${topicPrefix}${topic}`), TOPIC_PARTITIONS);
  const contracts = await ensureContracts({ rpcUrl: anvil.rpcUrl, addressesFile: join(dataDir, 'contracts.json') });
  return {
    postgresServer,
    kafka: () => broker!,
    async restartKafka() {
      await broker?.stop();
      broker = undefined;
      broker = await startKafkaBroker(kafkaOptions);
    },
    anvil,
    contracts,
    topicPrefix,
  };
}

/** Waits until HAProxy's statistics show every server of every backend UP (its checks lag the instances by a second or so). */
async function haproxySeesAllUp(statsUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let down: string[] = [];
  for (;;) {
    try {
      down = serverStates(await (await fetch(`${statsUrl};csv`, { signal: AbortSignal.timeout(2_000) })).text())
        .filter((server) => server.status !== 'UP')
        .map((server) => `${server.name} ${server.status}`);
      if (down.length === 0) return;
    } catch (error) {
      down = [`HAProxy statistics unavailable: ${String(error)}`];
    }
    if (Date.now() > deadline) throw new Error(`HAProxy did not see every instance up within ${timeoutMs} ms: ${down.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The servers (not frontends or backends) in HAProxy's CSV statistics, with their check status. */
export function serverStates(csv: string): { name: string; status: string }[] {
  const [header, ...rows] = csv.trim().split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const [proxy, server, status] = ['pxname', 'svname', 'status'].map((name) => columns.indexOf(name)) as [number, number, number];
  return rows
    .map((row) => row.split(','))
    .filter((cells) => cells[server] !== 'FRONTEND' && cells[server] !== 'BACKEND' && cells[proxy] !== 'stats')
    .map((cells) => ({ name: `${cells[proxy]}/${cells[server]}`, status: cells[status] ?? '' }));
}

function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
