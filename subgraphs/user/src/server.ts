import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../lib/config.js';
import { startLiveFeed } from '../../../lib/events/live-feed.js';
import { POSTING_PATH } from '../../../lib/ledger/posting.js';
import { readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { subgraphConfigSchema } from '../../../lib/service-config.js';
import { configurePasswordHashing, DEFAULT_PASSWORD_HASHING_LIMITS, PASSWORD_LENGTH_MIN } from '../../../lib/auth/password.js';
import { positiveInt } from '../../../lib/config.js';
import { z } from 'zod';
import { ensureAdmin } from './accounts/admin-bootstrap.js';
import { userLookupRoute } from './accounts/lookup-route.js';
import { USER_LOOKUP_PATH } from '../../../lib/users/lookup.js';
import * as schema from './db/schema.js';
import { MARKET_STOCK_PATH } from '../../../lib/ledger/market-stock.js';
import { marketStockRoute } from './ledger/market-stock-route.js';
import { postingRoute } from './ledger/posting-route.js';
import type { UserServiceDeps } from './resolvers/context.js';
import { createResolvers } from './resolvers/index.js';

export const SERVICE = 'user';
export const DEFAULT_PORT = 4001;
export const configSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT).and(
  z
    .object({
      ADMIN_EMAIL: z.email({ message: 'must be an email address' }).optional(),
      ADMIN_PASSWORD: z.string().min(PASSWORD_LENGTH_MIN, `must be at least ${PASSWORD_LENGTH_MIN} characters`).optional(),
      /** bcrypt runs on these worker threads, never on the event loop (lib/auth/password.ts). */
      PASSWORD_HASH_THREADS: positiveInt(DEFAULT_PASSWORD_HASHING_LIMITS.threadsMax).pipe(z.number().max(64, 'must be at most 64')),
      PASSWORD_HASH_QUEUE_MAX: positiveInt(DEFAULT_PASSWORD_HASHING_LIMITS.queueMax),
    })
    .refine((admin) => Boolean(admin.ADMIN_EMAIL) === Boolean(admin.ADMIN_PASSWORD), { message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together', path: ['ADMIN_PASSWORD'] }),
);
export type UserConfig = z.infer<typeof configSchema>;
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
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(parseConfig(configSchema, env), options);
