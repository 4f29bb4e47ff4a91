import { parseConfig } from '../../lib/config.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { type Logger, silentLogger } from '../../lib/log.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { type GatewayOptions, type RunningGateway, start as startGateway } from '../../gateway/src/server.js';
import { SUBGRAPH_MODULES } from '../../scripts/subgraphs.js';
import { startAnvil } from '../../scripts/infra/anvil.js';
import { type ContractAddresses, deployContracts } from '../../scripts/infra/deploy-contracts.js';
import { createTestDatabase } from './database.js';
import { TEST_RATE_LIMITS } from './rate-limits.js';
import { Teardown } from '../../scripts/infra/teardown.js';

export const TEST_SECRETS = {
  JWT_SECRET: 'test-jwt-secret-0123456789abcdef0123456789',
  GATEWAY_SECRET: 'test-gateway-secret-0123456789abcdef012345',
};

/**
 * Where a part the stack did not start is said to be: the discard port on loopback, where nothing listens, so a
 * call to it fails at once (the gateway answers UPSTREAM_UNAVAILABLE) instead of reaching a default address
 * such as 127.0.0.1:4001, where `npm start` may be serving on the same machine.
 */
export const NOWHERE_URL = 'http://127.0.0.1:9/graphql';

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

/** A subgraph by its name in the supergraph (scripts/subgraphs.ts). */
export type ServiceName = 'user' | 'price' | 'blockchain' | 'transaction' | 'notification';
const ALL_SERVICES = Object.keys(SUBGRAPH_MODULES) as ServiceName[];

interface RunningSubgraph {
  server: RunningServer;
  url: string;
  databaseUrl: string;
  /** More instances of it over the same database, with the same settings (see `instances`); nothing points at them. */
  replicas: RunningServer[];
}

export interface Stack {
  /** The gateway's /graphql; only when the stack was started with `gateway` (the default). */
  gatewayUrl: string;
  gateway: RunningGateway;
  /** The subgraphs asked for, by name. */
  subgraphs: Partial<Record<ServiceName, RunningSubgraph>>;
  userUrl: string;
  userDatabaseUrl: string;
  /** The gateway's own database (rate limits), for a second gateway that shares them. */
  gatewayDatabaseUrl: string;
  /** The stack's own anvil and the contracts deployed on it; only with `chain` (or the blockchain subgraph). */
  chain: { rpcUrl: string; contracts: ContractAddresses };
  /** A GraphQL call through the gateway, signed in when a token is given. */
  graphql<Data = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResult<Data>>;
  /**
   * Another gateway over the same subgraphs and rate-limit database, on free ports (public and metrics), with
   * `env` on top of the stack's settings; the caller stops it. This is how every test builds a gateway.
   */
  startGateway(env?: Record<string, string>, options?: GatewayOptions): Promise<RunningGateway>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /**
   * The subgraphs this file needs, each over a database of its own; all of them when not given. The rest are
   * pointed at NOWHERE_URL, so the gateway still plans queries over the whole supergraph and answers
   * UPSTREAM_UNAVAILABLE for a field of a subgraph that is not running. A subgraph's own calls to one that
   * is not running fail too: ask for what the operations under test reach (e.g. a purchase needs price).
   */
  services?: readonly ServiceName[];
  /**
   * How many instances of each subgraph the stack starts (default 1), all over the subgraph's one database and
   * with the same settings. The gateway and the other subgraphs know only the first; tests call the others
   * (`replicas`) directly, and their background loops run beside the first one's.
   */
  instances?: number;
  /** Start the gateway (default true). */
  gateway?: boolean;
  /** Start anvil and deploy the contracts; always when the blockchain subgraph is asked for. */
  chain?: boolean;
  transport?: EventTransport;
  /** Settings for every process. */
  env?: Record<string, string>;
  /** Settings for one subgraph, by name. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Settings for the gateway alone. */
  gatewayEnv?: Record<string, string>;
  /**
   * Subgraphs that run elsewhere (e.g. a child process a test kills and restarts), by name, with the URL of
   * their /graphql endpoint. Their database is still made here (see `databaseUrl`) and the gateway and later
   * subgraphs are pointed at that URL; starting and stopping the process is the caller's job.
   */
  external?: Partial<Record<ServiceName, string>>;
  /** The logger of each process, by name (`gateway`, `user`, …); silent when not given. */
  logFor?: (service: string) => Logger;
  /** Makes each part's database; a fresh one on the shared test server when not given. */
  createDatabase?: (prefix: string) => Promise<{ url: string; drop(): Promise<void> }>;
  /** Told every statement each subgraph's pool sends (not its migrations), with the subgraph's name. */
  onStatement?: (service: ServiceName, text: string) => void;
  /** Told each part's address (`anvil`, a subgraph's name, `gateway`) as soon as it listens. */
  onListening?: (part: string, url: string) => void;
}

/** A subgraph another process runs: the stack knows where it listens but never stops it. */
function elsewhere(url: string): RunningServer {
  return { url, port: Number(new URL(url).port), stop: async () => {} };
}

function missing(part: string): never {
  throw new Error(`the stack was started without ${part}; ask startStack for it`);
}

/**
 * The parts a test file asks for (as The Guild's gateway e2e `createTenv` does), each on free ports and over a
 * fresh database, wired as in production. If one part fails to start, everything already started is stopped
 * and its databases dropped before the error is thrown.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const services = options.services ?? ALL_SERVICES;
  const withChain = options.chain ?? services.includes('blockchain');
  if (services.includes('blockchain') && !withChain) throw new Error('the blockchain subgraph needs the chain: leave `chain` out or set it to true');
  const teardown = new Teardown();
  try {
    return await startParts(options, services, withChain, teardown);
  } catch (error) {
    await teardown.run().catch(() => {});
    throw error;
  }
}

async function startParts(options: StackOptions, services: readonly ServiceName[], withChain: boolean, teardown: Teardown): Promise<Stack> {
  const env = { ...TEST_SECRETS, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...TEST_RATE_LIMITS, ...options.env };
  const createDatabase = options.createDatabase ?? createTestDatabase;
  const subgraphs: Partial<Record<ServiceName, RunningSubgraph>> = {};
  // Every subgraph's address, NOWHERE_URL for those not started: no default ever reaches another process.
  const serviceUrls: Record<string, string> = Object.fromEntries(ALL_SERVICES.map((name) => [`${name.toUpperCase()}_SERVICE_URL`, new URL(NOWHERE_URL).origin]));
  let chain: Stack['chain'] | undefined;
  if (withChain) {
    const anvil = await startAnvil();
    teardown.add(anvil.stop);
    options.onListening?.('anvil', anvil.rpcUrl);
    chain = { rpcUrl: anvil.rpcUrl, contracts: await deployContracts({ rpcUrl: anvil.rpcUrl }) };
    Object.assign(serviceUrls, { ETH_RPC_URL: chain.rpcUrl, CONTRACT_ADDRESSES: JSON.stringify(chain.contracts) });
  }
  // Subgraphs start in dependency order; each later one learns where the earlier ones listen.
  for (const name of ALL_SERVICES.filter((service) => services.includes(service))) {
    const database = await createDatabase(name);
    teardown.add(database.drop);
    const externalUrl = options.external?.[name];
    const startInstance = async () =>
      (await SUBGRAPH_MODULES[name]!()).startFromEnv(
        { ...env, ...serviceUrls, PORT: '0', DATABASE_URL: database.url, ...options.serviceEnv?.[name] },
        {
          log: options.logFor?.(name) ?? silentLogger,
          transport: options.transport,
          onStatement: options.onStatement && ((text: string) => options.onStatement?.(name, text)),
        },
      );
    const server = externalUrl ? elsewhere(externalUrl) : await startInstance();
    teardown.add(() => server.stop());
    options.onListening?.(name, server.url);
    const replicas: RunningServer[] = [];
    for (let count = 1; !externalUrl && count < (options.instances ?? 1); count += 1) {
      const replica = await startInstance();
      teardown.add(() => replica.stop());
      replicas.push(replica);
    }
    subgraphs[name] = { server, url: server.url, databaseUrl: database.url, replicas };
    serviceUrls[`${name.toUpperCase()}_SERVICE_URL`] = new URL(server.url).origin;
  }
  const subgraphUrls = Object.fromEntries(ALL_SERVICES.map((name) => [`${name.toUpperCase()}_SUBGRAPH_URL`, subgraphs[name]?.url ?? NOWHERE_URL]));

  let gatewayDatabaseUrl: string | undefined;
  const startAnotherGateway = async (gatewayEnv: Record<string, string> = {}, gatewayOptions: GatewayOptions = {}) => {
    if (gatewayDatabaseUrl === undefined) return missing('the gateway');
    // Free ports last, so no setting can put a test's gateway on 4000 or its metrics on 9400.
    const config = parseConfig(gatewayConfigSchema, { ...env, ...subgraphUrls, DATABASE_URL: gatewayDatabaseUrl, ...options.gatewayEnv, ...gatewayEnv, PORT: '0', METRICS_PORT: '0' });
    return startGateway(config, { log: options.logFor?.('gateway') ?? silentLogger, ...gatewayOptions });
  };
  let gateway: RunningGateway | undefined;
  if (options.gateway ?? true) {
    const gatewayDatabase = await createDatabase('gateway');
    teardown.add(gatewayDatabase.drop);
    gatewayDatabaseUrl = gatewayDatabase.url;
    const started = await startAnotherGateway();
    teardown.add(() => started.stop());
    options.onListening?.('gateway', started.url);
    gateway = started;
  }

  return {
    get gatewayUrl() {
      return gateway?.url ?? missing('the gateway');
    },
    get gateway() {
      return gateway ?? missing('the gateway');
    },
    subgraphs,
    get userUrl() {
      return subgraphs.user?.url ?? missing('the user subgraph');
    },
    get userDatabaseUrl() {
      return subgraphs.user?.databaseUrl ?? missing('the user subgraph');
    },
    get gatewayDatabaseUrl() {
      return gatewayDatabaseUrl ?? missing('the gateway');
    },
    get chain() {
      return chain ?? missing('the chain');
    },
    graphql: (query, variables, token) => postGraphQL(gateway?.url ?? missing('the gateway'), query, variables, token ? { authorization: `Bearer ${token}` } : {}),
    startGateway: startAnotherGateway,
    stop: () => teardown.run(),
  };
}
