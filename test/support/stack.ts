import { parseConfig } from '../../lib/config.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { type Logger, silentLogger } from '../../lib/log.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { type RunningGateway, start as startGateway } from '../../gateway/src/server.js';
import { SUBGRAPH_MODULES } from '../../scripts/subgraphs.js';
import { startAnvil } from '../../scripts/infra/anvil.js';
import { type ContractAddresses, deployContracts } from '../../scripts/infra/deploy-contracts.js';
import { createTestDatabase } from './database.js';
import { TEST_RATE_LIMITS } from './rate-limits.js';

export const TEST_SECRETS = {
  JWT_SECRET: 'test-jwt-secret-0123456789abcdef0123456789',
  GATEWAY_SECRET: 'test-gateway-secret-0123456789abcdef012345',
};

export interface GraphQLResult<Data = Record<string, any>> {
  status: number;
  data?: Data | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
}

export async function postGraphQL<Data = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResult<Data>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as Omit<GraphQLResult<Data>, 'status'>;
  return { status: response.status, ...body };
}

interface RunningSubgraph {
  server: RunningServer;
  url: string;
  databaseUrl: string;
}

export interface Stack {
  gatewayUrl: string;
  gateway: RunningGateway;
  subgraphs: Record<string, RunningSubgraph>;
  userUrl: string;
  userDatabaseUrl: string;
  /** The gateway's own database (rate limits), for a second gateway that shares them. */
  gatewayDatabaseUrl: string;
  /** The stack's own anvil and the contracts deployed on it. */
  chain: { rpcUrl: string; contracts: ContractAddresses };
  /** A GraphQL call through the gateway, signed in when a token is given. */
  graphql<Data = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResult<Data>>;
  stop(): Promise<void>;
}

export interface StackOptions {
  transport?: EventTransport;
  /** Settings for every process. */
  env?: Record<string, string>;
  /** Settings for one subgraph, by name. */
  serviceEnv?: Record<string, Record<string, string>>;
  /**
   * Subgraphs that run elsewhere (e.g. a child process a test kills and restarts), by name, with the URL of
   * their /graphql endpoint. Their database is still made here (see `databaseUrl`) and the gateway and later
   * subgraphs are pointed at that URL; starting and stopping the process is the caller's job.
   */
  external?: Record<string, string>;
  /** The logger of each process, by name (`gateway`, `user`, …); silent when not given. */
  logFor?: (service: string) => Logger;
  /** Makes each subgraph's database; a fresh one on the shared test server when not given. */
  createDatabase?: (prefix: string) => Promise<{ url: string; drop(): Promise<void> }>;
}

/** A subgraph another process runs: the stack knows where it listens but never stops it. */
function elsewhere(url: string): RunningServer {
  return { url, port: Number(new URL(url).port), stop: async () => {} };
}

/** Every subgraph and the gateway on free ports, each subgraph over a fresh database, wired as in production. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = { ...TEST_SECRETS, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...TEST_RATE_LIMITS, ...options.env };
  const subgraphs: Record<string, RunningSubgraph> = {};
  const drops: (() => Promise<void>)[] = [];
  // A chain of its own, with the contracts deployed, for the blockchain subgraph.
  const anvil = await startAnvil();
  drops.push(anvil.stop);
  const contracts = await deployContracts({ rpcUrl: anvil.rpcUrl });
  // Subgraphs start in dependency order; each later one learns where the earlier ones listen.
  const serviceUrls: Record<string, string> = { ETH_RPC_URL: anvil.rpcUrl, CONTRACT_ADDRESSES: JSON.stringify(contracts) };
  for (const [name, load] of Object.entries(SUBGRAPH_MODULES)) {
    const database = await (options.createDatabase ?? createTestDatabase)(name);
    drops.push(database.drop);
    const externalUrl = options.external?.[name];
    if (externalUrl) {
      subgraphs[name] = { server: elsewhere(externalUrl), url: externalUrl, databaseUrl: database.url };
      serviceUrls[`${name.toUpperCase()}_SERVICE_URL`] = new URL(externalUrl).origin;
      continue;
    }
    const module = await load();
    const server = await module.startFromEnv(
      { ...env, ...serviceUrls, PORT: '0', DATABASE_URL: database.url, ...options.serviceEnv?.[name] },
      { log: options.logFor?.(name) ?? silentLogger, transport: options.transport },
    );
    subgraphs[name] = { server, url: server.url, databaseUrl: database.url };
    serviceUrls[`${name.toUpperCase()}_SERVICE_URL`] = new URL(server.url).origin;
  }
  const urls = Object.fromEntries(Object.entries(subgraphs).map(([name, subgraph]) => [`${name.toUpperCase()}_SUBGRAPH_URL`, subgraph.url]));
  const gatewayDatabase = await createTestDatabase('gateway');
  drops.push(gatewayDatabase.drop);
  const gateway = await startGateway(parseConfig(gatewayConfigSchema, { ...env, PORT: '0', METRICS_PORT: '0', ...urls, DATABASE_URL: gatewayDatabase.url }), {
    log: options.logFor?.('gateway') ?? silentLogger,
  });
  const user = subgraphs.user as RunningSubgraph;
  return {
    gatewayUrl: gateway.url,
    gateway,
    subgraphs,
    userUrl: user.url,
    userDatabaseUrl: user.databaseUrl,
    gatewayDatabaseUrl: gatewayDatabase.url,
    chain: { rpcUrl: anvil.rpcUrl, contracts },
    graphql: (query, variables, token) => postGraphQL(gateway.url, query, variables, token ? { authorization: `Bearer ${token}` } : {}),
    async stop() {
      await gateway.stop();
      for (const subgraph of Object.values(subgraphs).reverse()) await subgraph.server.stop();
      for (const drop of drops) await drop();
    },
  };
}
