import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { TEST_RATE_LIMITS } from '../../test/support/rate-limits.js';
import { CLUSTER_SERVICES, type ClusterService, startCluster } from '../../scripts/cluster/index.js';
import { describePostgres, type PostgresEndpoint, startPlatform } from './platform.js';
import type { CpuPart } from './process-cpu.js';

/**
 * How the services run. `one-process`: the gateway and every subgraph in this process, as `npm start` runs them
 * (scripts/start-all.ts), events on the in-process bus. `production`: each service its own OS process over one
 * PostgreSQL server and a Kafka broker, as `npm run start:cluster` runs them (scripts/cluster, one instance each).
 */
export const SHAPE_NAMES = ['one-process', 'production'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

/** The CPU part that is every service at once in the one-process shape. */
export const ALL_SERVICES_PART = 'services';
export const POSTGRES_PART = 'postgres';
export const KAFKA_PART = 'kafka';
/** The services a transfer passes through first, in its order, then the rest. */
const REPORT_ORDER: readonly ClusterService[] = ['gateway', 'transaction', 'user', ...CLUSTER_SERVICES.filter((service) => !['gateway', 'transaction', 'user'].includes(service))];

/** One shape, started, with what the benchmark needs of it. */
export interface RunningShape {
  name: ShapeName;
  gatewayUrl: string;
  transactionUrl: string;
  gatewaySecret: string;
  admin: { email: string; password: string };
  /** Its own PostgreSQL server, which pgbench may use too. */
  postgres: PostgresEndpoint;
  postgresDescription: string;
  /**
   * The processes a cell is charged with, by part (`services`, or `gateway`, `user`, … one each; `postgres`; `kafka`).
   * Asked again for every cell: a process the cluster restarted has a new pid.
   */
  cpuParts(): CpuPart[];
  stop(): Promise<void>;
}

export function startShape(name: ShapeName, dataDir: string): Promise<RunningShape> {
  return name === 'one-process' ? startOneProcess(dataDir) : startProduction(dataDir);
}

async function startOneProcess(dataDir: string): Promise<RunningShape> {
  const platform = await startPlatform(join(dataDir, 'postgres'));
  return {
    name: 'one-process',
    gatewayUrl: platform.gatewayUrl,
    transactionUrl: platform.transactionUrl,
    gatewaySecret: platform.gatewaySecret,
    admin: platform.admin,
    postgres: platform.postgres,
    postgresDescription: platform.postgresDescription,
    // This process holds the services and nothing else busy during a cell: the load generator is a child of its own.
    cpuParts: (): CpuPart[] => [
      { name: ALL_SERVICES_PART, pid: process.pid, scope: 'process' },
      { name: POSTGRES_PART, pid: running('PostgreSQL', platform.postgres.pid()), scope: 'tree' },
    ],
    stop: () => platform.stop(),
  };
}

/**
 * The cluster with one instance of each service, on free ports, throwaway data. Its settings are the one-process
 * platform's (secrets, silent logs, test rate limits, long-lived tokens), so the two shapes differ in how the
 * services run and how events travel, not in what they are told.
 */
async function startProduction(dataDir: string): Promise<RunningShape> {
  const admin = { email: 'bench-admin@ecocoin.local', password: randomBytes(12).toString('hex') };
  const gatewaySecret = randomBytes(24).toString('hex');
  const cluster = await startCluster({
    dataDir,
    persistent: false,
    ports: 'free',
    env: {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      JWT_SECRET: randomBytes(24).toString('hex'),
      // Users sign in once, before the first cell; their tokens must outlive the whole run.
      JWT_TTL_SECONDS: String(24 * 3600),
      GATEWAY_SECRET: gatewaySecret,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      ...TEST_RATE_LIMITS,
    },
  });
  try {
    const postgresUrl = cluster.databaseUrl('gateway');
    const transaction = cluster.instances.transaction[0];
    if (!transaction) throw new Error('the cluster started no transaction subgraph');
    return {
      name: 'production',
      gatewayUrl: cluster.gatewayUrl,
      transactionUrl: transaction.url,
      gatewaySecret,
      admin,
      postgres: endpointOf(postgresUrl, () => cluster.postgres.pid()),
      postgresDescription: await describePostgres(postgresUrl),
      cpuParts: (): CpuPart[] => [
        ...REPORT_ORDER.map((service): CpuPart => ({ name: service, pid: running(service, cluster.instances[service][0]?.pid()), scope: 'process' })),
        { name: POSTGRES_PART, pid: running('PostgreSQL', cluster.postgres.pid()), scope: 'tree' },
        { name: KAFKA_PART, pid: running('the Kafka broker', cluster.kafka.pid()), scope: 'process' },
      ],
      stop: () => cluster.stop(),
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

/** The cluster's server as pgbench needs it, from one of its connection URLs. */
function endpointOf(databaseUrl: string, pid: () => number | undefined): PostgresEndpoint {
  const parsed = new URL(databaseUrl);
  const url = (database: string) => {
    const copy = new URL(databaseUrl);
    copy.pathname = `/${database}`;
    return copy.toString();
  };
  return {
    host: parsed.hostname,
    port: Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    url,
    async createDatabase(database) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`invalid database name: ${database}`);
      const sql = postgres(url('postgres'), { max: 1, onnotice: () => {}, connect_timeout: 10 });
      try {
        const found = await sql`select 1 from pg_database where datname = ${database}`;
        if (found.length === 0) await sql.unsafe(`create database "${database}"`);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    pid,
  };
}

function running(part: string, pid: number | undefined): number {
  if (pid === undefined) throw new Error(`${part} is not running, so its CPU time cannot be read`);
  return pid;
}
