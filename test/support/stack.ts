import { parseConfig } from '../../lib/config.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { silentLogger } from '../../lib/log.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { start as startGateway } from '../../gateway/src/server.js';
import { configSchema as userConfigSchema, start as startUser } from '../../subgraphs/user/src/server.js';
import { createTestDatabase } from './database.js';

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

export interface Stack {
  gatewayUrl: string;
  userUrl: string;
  userDatabaseUrl: string;
  gateway: RunningServer;
  user: RunningServer;
  /** A GraphQL call through the gateway, signed in when a token is given. */
  graphql<Data = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResult<Data>>;
  stop(): Promise<void>;
}

/** The user subgraph and the gateway on free ports, over a fresh database, as production wires them. */
export async function startStack(options: { transport?: EventTransport; env?: Record<string, string> } = {}): Promise<Stack> {
  const database = await createTestDatabase('user');
  const env = { ...TEST_SECRETS, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...options.env };
  const user = await startUser(parseConfig(userConfigSchema, { ...env, PORT: '0', DATABASE_URL: database.url }), { log: silentLogger, transport: options.transport });
  const gateway = await startGateway(parseConfig(gatewayConfigSchema, { ...env, PORT: '0', USER_SUBGRAPH_URL: user.url }), { log: silentLogger });
  return {
    gatewayUrl: gateway.url,
    userUrl: user.url,
    userDatabaseUrl: database.url,
    gateway,
    user,
    graphql: (query, variables, token) => postGraphQL(gateway.url, query, variables, token ? { authorization: `Bearer ${token}` } : {}),
    async stop() {
      await gateway.stop();
      await user.stop();
      await database.drop();
    },
  };
}
