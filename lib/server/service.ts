import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { type DocumentNode, parse } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { InternalCredential } from '../auth/internal-credential.js';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, runMigrations, type StatementObserver } from '../db.js';
import { createEventTransport } from '../events/create-transport.js';
import { type GroupLag, withLagTracking } from '../events/consumer-lag.js';
import { outboxBacklog, startOutboxRelay } from '../events/outbox.js';
import type { EventTransport } from '../events/transport.js';
import { createLogger, type Logger } from '../log.js';
import type { SubgraphConfig } from '../service-config.js';
import { ServiceMetrics } from './metrics.js';
import { type InternalRoute, type RunningServer, type SubgraphContext, startSubgraphServer } from './subgraph-server.js';

/** Everything a subgraph's code runs on, made once at start. */
export interface ServiceRuntime<Schema extends Record<string, unknown>> {
  db: PostgresJsDatabase<Schema>;
  sql: postgres.Sql;
  transport: EventTransport;
  credential: InternalCredential;
  log: Logger;
  /** This service's /metrics; consumers count the events they skip here. */
  metrics: ServiceMetrics;
}

/** Something a service runs beside its HTTP server (a poller, a consumer, a live feed), stopped after the server drains. */
export interface BackgroundTask {
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Tests and `npm start` may hand in a transport; otherwise KAFKA_BROKERS decides. */
  transport?: EventTransport;
  /** Tests count the statements a request costs with it (see connectDatabase); nothing watches otherwise. */
  onStatement?: StatementObserver;
}

/** What a service builds on its runtime: its resolvers, internal routes and background tasks. */
export interface ServiceParts {
  resolvers: GraphQLResolverMap<SubgraphContext>;
  internalRoutes?: Record<string, InternalRoute>;
  /** Already started; stopped after the server has drained, in order. */
  tasks?: BackgroundTask[];
}

export interface SubgraphServiceDefinition<Schema extends Record<string, unknown>> {
  service: string;
  schema: Schema;
  typeDefs: DocumentNode;
  migrationsFolder: string;
  /** Runs once the database and transport are up, before the server listens. */
  setup(runtime: ServiceRuntime<Schema>): ServiceParts | Promise<ServiceParts>;
}

export const readTypeDefs = (url: URL): DocumentNode => parse(readFileSync(url, 'utf8'));

/**
 * The one way a subgraph process starts: migrate its database, connect with explicit pool limits, open the
 * event transport and the outbox relay, start its background tasks, and serve. `stop()` drains HTTP and
 * WebSocket traffic first, then background tasks, the relay, the transport and the pool, in that order.
 */
export async function startSubgraphService<Schema extends Record<string, unknown>>(
  definition: SubgraphServiceDefinition<Schema>,
  config: SubgraphConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(definition.service, config.LOG_LEVEL);
  await runMigrations(config.DATABASE_URL, definition.migrationsFolder);
  const database = connectDatabase(config.DATABASE_URL, definition.schema, {
    ...DEFAULT_DATABASE_LIMITS,
    poolSizeMax: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  }, options.onStatement);
  const transport =
    options.transport ??
    (await createEventTransport({ brokers: config.KAFKA_BROKERS, clientId: definition.service, topicPrefix: config.KAFKA_TOPIC_PREFIX, log }));
  const relay = await startOutboxRelay({ sql: database.sql, transport, log });
  const metrics = new ServiceMetrics(definition.service, log);
  const consumers = withLagTracking(transport);
  observeEvents(metrics, database.sql, consumers.lag);
  const runtime: ServiceRuntime<Schema> = {
    db: database.db,
    sql: database.sql,
    transport: consumers.transport,
    credential: new InternalCredential(config.GATEWAY_SECRET),
    log,
    metrics,
  };
  const parts = await definition.setup(runtime);
  const tasks = parts.tasks ?? [];
  return startSubgraphServer({
    name: definition.service,
    typeDefs: definition.typeDefs,
    resolvers: parts.resolvers,
    credential: runtime.credential,
    log,
    metrics,
    host: config.HOST,
    port: config.PORT,
    internalRoutes: parts.internalRoutes,
    healthCheck: async () => void (await database.db.execute(sql`select 1`)),
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    onStop: async () => {
      for (const task of tasks) await task.stop();
      await relay.stop();
      if (!options.transport) await transport.close();
      await database.close();
    },
  });
}

/** The outbox backlog and the lag of this service's consumers, read at each scrape of /metrics. */
function observeEvents(metrics: ServiceMetrics, db: postgres.Sql, consumerLag: () => Promise<GroupLag[]>): void {
  metrics.gauge({
    name: 'ecocoin_outbox_unsent_events',
    help: 'Events committed to the outbox and not yet published',
    read: async () => [{ value: (await outboxBacklog(db)).unsent }],
  });
  metrics.gauge({
    name: 'ecocoin_outbox_oldest_unsent_age_seconds',
    help: 'How long the oldest unpublished outbox event has waited (0 when none)',
    read: async () => [{ value: (await outboxBacklog(db)).oldestUnsentAgeSeconds }],
  });
  metrics.gauge({
    name: 'ecocoin_consumer_lag_messages',
    help: "Events published and not yet handled by this service's consumers, by consumer group and topic",
    labelNames: ['group', 'topic'],
    read: async () => (await consumerLag()).map(({ group, topic, messages }) => ({ labels: { group, topic }, value: messages })),
  });
}
