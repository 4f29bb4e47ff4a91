import { fileURLToPath } from 'node:url';
import { startLiveFeed } from '../../../lib/events/live-feed.js';
import { POSTING_PATH } from '../../../lib/ledger/posting.js';
import { readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { configurePasswordHashing } from '../../../lib/auth/password.js';
import { DEFAULT_PORT, loadUserConfig, SERVICE, type UserConfig, userConfigSchema } from './config.js';
import { ensureAdmin } from './accounts/admin-bootstrap.js';
import { userLookupRoute } from './accounts/lookup-route.js';
import { USER_LOOKUP_PATH } from '../../../lib/users/lookup.js';
import * as schema from './db/schema.js';
import { MARKET_STOCK_PATH } from '../../../lib/ledger/market-stock.js';
import { marketStockRoute } from './ledger/market-stock-route.js';
import { postingRoute } from './ledger/posting-route.js';
import type { UserServiceDeps } from './deps.js';
import { createResolvers } from './resolvers/index.js';

export { DEFAULT_PORT, SERVICE };
/** What the registry and the deployment checks parse an environment with. */
export const configSchema = userConfigSchema;
export const typeDefs = readTypeDefs(new URL('../../../schema/user.graphql', import.meta.url));

/** Migrates, connects, and serves the user subgraph. */
export function start(config: UserConfig, options: StartOptions = {}): Promise<RunningServer> {
  configurePasswordHashing({ threadsMax: config.PASSWORD_HASH_THREADS, queueMax: config.PASSWORD_HASH_QUEUE_MAX });
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      async setup(runtime) {
        const deps: UserServiceDeps = {
          db: runtime.db,
          tokens: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS },
        };
        if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) await ensureAdmin(deps, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD }, runtime.log);
        const feed = await startLiveFeed({ transport: runtime.transport, topics: ['wallet.updated'], service: SERVICE, log: runtime.log, metrics: runtime.metrics });
        return {
          resolvers: createResolvers(deps, feed),
          internalRoutes: {
            [`POST ${POSTING_PATH}`]: postingRoute(deps),
            [`POST ${USER_LOOKUP_PATH}`]: userLookupRoute(deps),
            [`POST ${MARKET_STOCK_PATH}`]: marketStockRoute(deps),
          },
          tasks: [feed],
        };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(loadUserConfig(env), options);
