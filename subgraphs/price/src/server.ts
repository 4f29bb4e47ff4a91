import { fileURLToPath } from 'node:url';
import { startLiveFeed } from '../../../lib/events/live-feed.js';
import { QUOTE_PATH } from '../../../lib/pricing/quote.js';
import { readTypeDefs, type ServiceRuntime, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { DEFAULT_PORT, loadPriceConfig, type PriceConfig, priceConfigSchema, SERVICE } from './config.js';
import * as schema from './db/schema.js';
import { startPricePoller } from './prices/poller.js';
import { quoteRoute } from './prices/quote-route.js';
import type { PriceServiceDeps } from './deps.js';
import { createResolvers } from './resolvers/index.js';
import { CoinGeckoSource } from './sources/coingecko.js';
import { SimulatedSource } from './sources/simulated.js';
import { PRICE_SYMBOLS, type PriceSource, type PriceSymbol } from './sources/source.js';
import { latestPrice } from './prices/store.js';

export { DEFAULT_PORT, SERVICE };
/** What the registry and the deployment checks parse an environment with. */
export const configSchema = priceConfigSchema;
export const typeDefs = readTypeDefs(new URL('../../../schema/price.graphql', import.meta.url));

async function createSource(config: PriceConfig, runtime: ServiceRuntime<typeof schema>): Promise<PriceSource> {
  if (config.PRICE_SOURCE === 'simulated') {
    const startValues: Partial<Record<PriceSymbol, number>> = {};
    for (const symbol of PRICE_SYMBOLS) {
      const latest = await latestPrice(runtime.db, symbol, 'USD');
      if (latest) startValues[symbol] = Number(latest.value);
    }
    return new SimulatedSource(config.SIMULATED_PRICE_SEED, startValues);
  }
  return new CoinGeckoSource({
    baseUrl: config.COINGECKO_BASE_URL,
    plan: config.COINGECKO_API_PLAN,
    apiKey: config.COINGECKO_API_KEY,
    timeoutMs: config.COINGECKO_TIMEOUT_MS,
    retry: { attemptsMax: config.COINGECKO_RETRY_ATTEMPTS, delayBaseMs: 500, delayMaxMs: 30_000 },
    log: runtime.log,
  });
}

/** Migrates, connects, starts polling prices, and serves the price subgraph. */
export function start(config: PriceConfig, options: StartOptions = {}): Promise<RunningServer> {
  const staleAfterMs = config.PRICE_STALE_AFTER_SECONDS * 1000;
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      async setup(runtime) {
        const feed = await startLiveFeed({ transport: runtime.transport, topics: ['price.updated'], service: SERVICE, log: runtime.log, metrics: runtime.metrics });
        const deps: PriceServiceDeps = { db: runtime.db, feed, staleAfterMs };
        const poller = startPricePoller({
          db: runtime.db,
          source: await createSource(config, runtime),
          log: runtime.log,
          intervalMs: config.PRICE_POLL_INTERVAL_MS,
          backfillDays: config.PRICE_BACKFILL_DAYS,
          retentionDays: config.PRICE_RETENTION_DAYS,
        });
        return {
          resolvers: createResolvers(deps),
          internalRoutes: {
            [`POST ${QUOTE_PATH}`]: quoteRoute({ db: runtime.db, secret: config.GATEWAY_SECRET, ttlSeconds: config.QUOTE_TTL_SECONDS, staleAfterMs }),
          },
          tasks: [poller, feed],
        };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(loadPriceConfig(env), options);
