import { fileURLToPath } from 'node:url';
import { WITHDRAWAL_PATH } from '../../../lib/chain/withdrawal.js';
import { withdrawalAddressCheckCall } from '../../../lib/chain/withdrawal-address.js';
import { startDurableConsumer } from '../../../lib/events/consumer.js';
import { routeKey } from '../../../lib/internal-contract.js';
import { InternalClient } from '../../../lib/internal-client.js';
import { userLookupCall } from '../../../lib/users/lookup.js';
import { type BackgroundTask, readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { createChain } from './chain/clients.js';
import { createCustody } from './chain/custody.js';
import { Sender } from './chain/sender.js';
import { createStakingLock } from './chain/staking.js';
import { startDepositSweeper } from './chain/deposits.js';
import { isCompletedRetirement, queueRetirement, startRetirementRecorder } from './chain/retirements.js';
import { startTracker } from './chain/tracker.js';
import { withdrawalAddressCheckRoute, withdrawalRoute } from './chain/withdrawals.js';
import { type BlockchainConfig, blockchainConfigSchema, DEFAULT_PORT, loadBlockchainConfig, SERVICE } from './config.js';
import * as schema from './db/schema.js';
import { startIndexer } from './indexer/indexer.js';
import type { BlockchainServiceDeps } from './deps.js';
import { createResolvers } from './resolvers/index.js';

export { DEFAULT_PORT, SERVICE };
/** What the registry and the deployment checks parse an environment with. */
export const configSchema = blockchainConfigSchema;
export const typeDefs = readTypeDefs(new URL('../../../schema/blockchain.graphql', import.meta.url));

/** Migrates, connects to the Ethereum node, starts the receipt tracker and the indexer, and serves the blockchain subgraph. */
export function start(config: BlockchainConfig, options: StartOptions = {}): Promise<RunningServer> {
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      async setup(runtime) {
        const chain = createChain(config, runtime.log);
        const sender = new Sender(chain, runtime.sql);
        const users = new InternalClient(config.USER_SERVICE_URL, runtime.credential, { kind: 'service', service: SERVICE }, config.INTERNAL_TIMEOUT_MS, runtime.log);
        const checkUser = async (userId: string) => {
          await users.call(userLookupCall, { id: userId });
        };
        const custody = createCustody({ chain, db: runtime.db, sender, gasFundingEth: config.CUSTODY_GAS_FUNDING_ETH, checkUser });
        const tracker = startTracker({ chain, db: runtime.db, pollIntervalMs: config.TRACKER_POLL_INTERVAL_MS });
        const deps: BlockchainServiceDeps = { db: runtime.db, chain, sender, tracker, custody, stakingLock: createStakingLock(runtime.sql, config.DATABASE_POOL_MAX), siwe: { domain: config.SIWE_DOMAIN, uri: config.SIWE_URI, challengeTtlSeconds: config.SIWE_CHALLENGE_TTL_SECONDS } };
        const retirements = await startDurableConsumer({
          transport: runtime.transport,
          db: runtime.db,
          name: `${config.KAFKA_TOPIC_PREFIX}${SERVICE}.retirements`,
          topics: ['transaction.status'],
          log: runtime.log,
          metrics: runtime.metrics,
          concerns: (event) => isCompletedRetirement(event.data),
          apply: (event, tx) => queueRetirement(deps, event, tx),
        });
        const tasks: BackgroundTask[] = [
          { stop: () => retirements.close() },
          startRetirementRecorder(deps, { intervalMs: config.CHAIN_WORK_INTERVAL_MS }),
          startDepositSweeper(deps, { intervalMs: config.CHAIN_WORK_INTERVAL_MS }),
          tracker,
        ];
        if (config.INDEXER_ENABLED) {
          tasks.push(
            startIndexer({ chain, db: runtime.db, custody, blockRange: config.INDEXER_BLOCK_RANGE, startBlock: BigInt(config.INDEXER_START_BLOCK), pollIntervalMs: config.INDEXER_POLL_INTERVAL_MS }),
          );
        }
        const internalRoutes = { [`POST ${WITHDRAWAL_PATH}`]: withdrawalRoute(deps), [routeKey(withdrawalAddressCheckCall)]: withdrawalAddressCheckRoute(deps) };
        return { resolvers: createResolvers(deps), tasks, internalRoutes };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(loadBlockchainConfig(env), options);
