import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { parseConfig } from '../../lib/config.js';
import { silentLogger } from '../../lib/log.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { TEST_RATE_LIMITS } from '../../test/support/rate-limits.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { type GatewayOptions, type RunningGateway, start as startGateway } from '../../gateway/src/server.js';
import { type AnvilNode, startAnvil } from '../../scripts/infra/anvil.js';
import { deployContracts } from '../../scripts/infra/deploy-contracts.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../../scripts/infra/postgres.js';
import { freePort } from '../../scripts/infra/ports.js';
import { SUBGRAPH_MODULES } from '../../scripts/subgraphs.js';

/** Where PostgreSQL listens and as whom, for clients other than the services (pgbench). */
export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  url(database: string): string;
  createDatabase(database: string): Promise<void>;
  /** The postmaster's process id (its children are the backends), for the server's CPU time; undefined while it is down. */
  pid(): number | undefined;
}

/** The whole platform, wired as `npm start` wires it, on free ports over a throwaway PostgreSQL server. */
export interface Platform {
  gatewayUrl: string;
  transactionUrl: string;
  gatewaySecret: string;
  admin: { email: string; password: string };
  postgres: PostgresEndpoint;
  /** The server's own description, e.g. `17.6 fsync=on synchronous_commit=on`. */
  postgresDescription: string;
  /** Another gateway over the same subgraphs and settings, stopped with the platform (e.g. with a part swapped out). */
  startGateway(options: GatewayOptions): Promise<RunningGateway>;
  stop(): Promise<void>;
}

const POSTGRES_HOST = '127.0.0.1';

/**
 * Starts PostgreSQL in `dataDir`, then every subgraph in start order and the gateway. The services get their
 * settings from here alone, not from the shell, so a stray KAFKA_BROKERS or LOG_LEVEL cannot change what is
 * measured. Whatever started is stopped again if a later part fails to start.
 */
export async function startPlatform(dataDir: string): Promise<Platform> {
  const credentials = { user: 'bench', password: randomBytes(12).toString('hex') };
  const port = await freePort();
  const server = await startEmbeddedPostgres({ dataDir, port, persistent: false, ...credentials });
  const running: RunningServer[] = [];
  let anvil: AnvilNode | undefined;
  const stop = async () => {
    try {
      for (const service of [...running].reverse()) await service.stop();
    } finally {
      await anvil?.stop();
      await server.stop();
    }
  };
  try {
    // The blockchain subgraph needs a chain with the contracts, as in the tests (it plays no part in transfers).
    anvil = await startAnvil();
    const contracts = await deployContracts({ rpcUrl: anvil.rpcUrl });
    const admin = { email: 'bench-admin@ecocoin.local', password: randomBytes(12).toString('hex') };
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      JWT_SECRET: randomBytes(24).toString('hex'),
      // Users sign in once, before the first cell; their tokens must outlive the whole run.
      JWT_TTL_SECONDS: String(24 * 3600),
      GATEWAY_SECRET: randomBytes(24).toString('hex'),
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      ETH_RPC_URL: anvil.rpcUrl,
      CONTRACT_ADDRESSES: JSON.stringify(contracts),
    };
    const subgraphUrls = await startSubgraphs(server, env, running);
    await server.createDatabaseIfMissing('gateway_db');
    const gatewayConfig = parseConfig(gatewayConfigSchema, { ...env, ...TEST_RATE_LIMITS, PORT: '0', METRICS_PORT: '0', ...subgraphUrls, DATABASE_URL: server.url('gateway_db') });
    const gateway = await startGateway(gatewayConfig, { log: silentLogger });
    running.push(gateway);
    const transactionUrl = subgraphUrls.TRANSACTION_SUBGRAPH_URL;
    if (!transactionUrl) throw new Error('the transaction subgraph did not start');
    return {
      gatewayUrl: gateway.url,
      transactionUrl,
      gatewaySecret: env.GATEWAY_SECRET,
      admin,
      postgres: {
        host: POSTGRES_HOST,
        port,
        ...credentials,
        url: server.url,
        createDatabase: (database) => server.createDatabaseIfMissing(database),
        pid: () => server.pid(),
      },
      postgresDescription: await describePostgres(server.url('postgres')),
      async startGateway(options) {
        const another = await startGateway(gatewayConfig, { log: silentLogger, ...options });
        running.push(another);
        return another;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Each subgraph over its own database; later ones learn where earlier ones listen (`<NAME>_SERVICE_URL`).
 * Resolves with the gateway's `<NAME>_SUBGRAPH_URL` settings.
 */
async function startSubgraphs(server: EmbeddedPostgresServer, env: Record<string, string>, running: RunningServer[]): Promise<Record<string, string>> {
  const serviceUrls: Record<string, string> = {};
  const subgraphUrls: Record<string, string> = {};
  for (const load of Object.values(SUBGRAPH_MODULES)) {
    const subgraph = await load();
    const database = `${subgraph.SERVICE}_service_db`;
    await server.createDatabaseIfMissing(database);
    const started = await subgraph.startFromEnv({ ...env, ...serviceUrls, PORT: '0', DATABASE_URL: server.url(database) }, { log: silentLogger });
    running.push(started);
    const name = subgraph.SERVICE.toUpperCase();
    serviceUrls[`${name}_SERVICE_URL`] = new URL(started.url).origin;
    subgraphUrls[`${name}_SUBGRAPH_URL`] = started.url;
  }
  return subgraphUrls;
}

/** The server's version and the two settings every commit's cost depends on. */
export async function describePostgres(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql<{ version: string; fsync: string; synchronous_commit: string }[]>`
      select current_setting('server_version') as version, current_setting('fsync') as fsync, current_setting('synchronous_commit') as synchronous_commit`;
    return `PostgreSQL ${row?.version} (embedded, fsync=${row?.fsync}, synchronous_commit=${row?.synchronous_commit})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
