import { fileURLToPath } from 'node:url';
import { ExpiringCache } from '../../../lib/auth/token-cache.js';
import { startDurableConsumer } from '../../../lib/events/consumer.js';
import { startLiveFeed } from '../../../lib/events/live-feed.js';
import { InternalClient } from '../../../lib/internal-client.js';
import { readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { DEFAULT_PORT, loadTransactionConfig, SERVICE, type TransactionConfig, transactionConfigSchema } from './config.js';
import * as schema from './db/schema.js';
import { TRANSACTION_FEED_TOPICS, type TransactionServiceDeps } from './deps.js';
import { createResolvers } from './resolvers/index.js';
import { startFeedRetention } from './feed/entries.js';
import { KNOWN_USER_IDS_MAX } from './workflows/input-checks.js';
import { startRecovery } from './workflows/recovery.js';
import { WORKFLOWS } from './workflows/registry.js';

export { DEFAULT_PORT, SERVICE };
/** What the registry and the deployment checks parse an environment with. */
export const configSchema = transactionConfigSchema;
export const typeDefs = readTypeDefs(new URL('../../../schema/transaction.graphql', import.meta.url));

/** Faucet caps per deposit: enough to try everything, too little to matter if left on by mistake. */
const FAUCET_DEPOSIT_MAX_MINOR = { USD: 10_000_00n, ETH: 10n * 10n ** 18n };

/** Migrates, connects, starts the recovery loop, and serves the transaction subgraph. */
export function start(config: TransactionConfig, options: StartOptions = {}): Promise<RunningServer> {
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      async setup(runtime) {
        const caller = { kind: 'service', service: SERVICE } as const;
        const feed = await startLiveFeed({ transport: runtime.transport, topics: TRANSACTION_FEED_TOPICS, service: SERVICE, log: runtime.log, metrics: runtime.metrics });
        const deps: TransactionServiceDeps = {
          db: runtime.db,
          log: runtime.log,
          users: new InternalClient(config.USER_SERVICE_URL, runtime.credential, caller, config.INTERNAL_TIMEOUT_MS, runtime.log),
          knownUserIds: new ExpiringCache(KNOWN_USER_IDS_MAX),
          prices: new InternalClient(config.PRICE_SERVICE_URL, runtime.credential, caller, config.INTERNAL_TIMEOUT_MS, runtime.log),
          // A withdrawal waits for its mint to be mined (up to 10 s) before the blockchain subgraph answers.
          blockchain: new InternalClient(config.BLOCKCHAIN_SERVICE_URL, runtime.credential, caller, config.INTERNAL_TIMEOUT_MS + 15_000, runtime.log),
          internalSecret: config.GATEWAY_SECRET,
          quoteTtlSeconds: config.QUOTE_TTL_SECONDS,
          faucet: {
            enabled: config.DEV_FAUCET,
            depositMaxMinor: FAUCET_DEPOSIT_MAX_MINOR,
            dailyMaxMinor: { USD: config.DEV_FAUCET_DAILY_MAX_USD, ETH: config.DEV_FAUCET_DAILY_MAX_ETH },
          },
          feed,
        };
        // Workflows started by events (MCO2 deposits on chain) each read theirs through a durable consumer.
        const consumers = await Promise.all(
          WORKFLOWS.flatMap((workflow) => workflow.consumer ?? []).map((consumer) =>
            startDurableConsumer({
              transport: runtime.transport,
              db: runtime.db,
              name: `${config.KAFKA_TOPIC_PREFIX}${SERVICE}.${consumer.name}`,
              topics: consumer.topics,
              log: runtime.log,
              metrics: runtime.metrics,
              apply: (event) => consumer.apply(deps, event),
            }),
          ),
        );
        const recovery = startRecovery(deps, WORKFLOWS, { intervalMs: config.RECOVERY_INTERVAL_MS, batchSizeMax: config.RECOVERY_BATCH_SIZE, leaseMs: 30_000, retryDelayMaxMs: 60_000 });
        const feedRetention = startFeedRetention({ db: runtime.db, log: runtime.log });
        return { resolvers: createResolvers(deps), tasks: [...consumers.map((consumer) => ({ stop: () => consumer.close() })), recovery, feedRetention, feed] };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(loadTransactionConfig(env), options);
