import { fileURLToPath } from 'node:url';
import { startLiveFeed } from '../../../lib/events/live-feed.js';
import { readTypeDefs, type StartOptions, startSubgraphService } from '../../../lib/server/service.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { DEFAULT_PORT, loadNotificationConfig, type NotificationConfig, notificationConfigSchema, SERVICE } from './config.js';
import * as schema from './db/schema.js';
import { startNotificationConsumer } from './notifications/consumer.js';
import { startRetention } from './notifications/retention.js';
import type { NotificationServiceDeps } from './deps.js';
import { createResolvers } from './resolvers/index.js';
import { startWebhookSender } from './webhooks/sender.js';

export { DEFAULT_PORT, SERVICE };
/** What the registry and the deployment checks parse an environment with. */
export const configSchema = notificationConfigSchema;
export const typeDefs = readTypeDefs(new URL('../../../schema/notification.graphql', import.meta.url));

/**
 * The durable consumer's name, which is also its Kafka consumer group. It carries the topic prefix because
 * a group shared by deployments reading differently prefixed topics would hand each of them the other's
 * partitions (kafkajs assigns every topic of the group to every member).
 */
export const consumerNameOf = (config: Pick<NotificationConfig, 'KAFKA_TOPIC_PREFIX'>) => `${config.KAFKA_TOPIC_PREFIX}${SERVICE}.notices`;

/** Migrates, connects, consumes events into notifications, sends webhooks, and serves the notification subgraph. */
export function start(config: NotificationConfig, options: StartOptions = {}): Promise<RunningServer> {
  return startSubgraphService(
    {
      service: SERVICE,
      schema,
      typeDefs,
      migrationsFolder: fileURLToPath(new URL('./db/migrations', import.meta.url)),
      async setup(runtime) {
        const feed = await startLiveFeed({ transport: runtime.transport, topics: ['notification.created'], service: SERVICE, log: runtime.log, metrics: runtime.metrics });
        const consumer = await startNotificationConsumer({ transport: runtime.transport, db: runtime.db, name: consumerNameOf(config), log: runtime.log, metrics: runtime.metrics });
        const sender = await startWebhookSender({
          db: runtime.db,
          sql: runtime.sql,
          log: runtime.log,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          attemptsMax: config.WEBHOOK_ATTEMPTS_MAX,
          retryDelayBaseMs: config.WEBHOOK_RETRY_DELAY_BASE_MS,
          retryDelayMaxMs: config.WEBHOOK_RETRY_DELAY_MAX_MS,
          pollIntervalMs: config.WEBHOOK_POLL_INTERVAL_MS,
          batchSizeMax: config.WEBHOOK_BATCH_SIZE,
          allowPrivateNetwork: config.WEBHOOK_ALLOW_PRIVATE_NETWORK,
        });
        const retention = startRetention({ db: runtime.db, log: runtime.log, retentionDays: config.NOTIFICATION_RETENTION_DAYS });
        const deps: NotificationServiceDeps = { db: runtime.db, feed, webhookPrivateNetworkAllowed: config.WEBHOOK_ALLOW_PRIVATE_NETWORK };
        // Stopped in this order after the server drains: no new notifications, then no more sending.
        return { resolvers: createResolvers(deps), tasks: [consumer, sender, retention, feed] };
      },
    },
    config,
    options,
  );
}

/** Parses the environment (naming any wrong variable) and starts. */
export const startFromEnv = (env: Record<string, string | undefined>, options?: StartOptions) => start(loadNotificationConfig(env), options);
