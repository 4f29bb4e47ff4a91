import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../lib/config.js';
import { POSTING_PATH } from '../../../lib/ledger/posting.js';
import { readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { type SubgraphConfig, subgraphConfigSchema } from '../../../lib/service-config.js';
import * as schema from './db/schema.js';
import { postingRoute } from './ledger/posting-route.js';
import type { UserServiceDeps } from './resolvers/context.js';
import { createResolvers } from './resolvers/index.js';

export const SERVICE = 'user';
export const DEFAULT_PORT = 4001;
export const configSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT);
export const typeDefs = readTypeDefs(new URL('../../../schema/user.graphql', import.meta.url));

/** Migrates, connects, and serves the user subgraph. */
export function start(config: SubgraphConfig, options: StartOptions = {}): Promise<RunningServer> {
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      setup(runtime) {
        const deps: UserServiceDeps = {
          db: runtime.db,
          tokens: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS },
        };
        return { resolvers: createResolvers(deps), internalRoutes: { [`POST ${POSTING_PATH}`]: postingRoute(deps) } };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(parseConfig(configSchema, env), options);
