import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { parse } from 'graphql';
import { InternalCredential } from '../../../lib/auth/internal-credential.js';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, runMigrations } from '../../../lib/db.js';
import { createEventTransport } from '../../../lib/events/create-transport.js';
import { startOutboxRelay } from '../../../lib/events/outbox.js';
import type { EventTransport } from '../../../lib/events/transport.js';
import { POSTING_PATH } from '../../../lib/ledger/posting.js';
import { createLogger, type Logger } from '../../../lib/log.js';
import { type RunningServer, startSubgraphServer } from '../../../lib/server/subgraph-server.js';
import { type SubgraphConfig, subgraphConfigSchema } from '../../../lib/service-config.js';
import * as schema from './db/schema.js';
import { postingRoute } from './ledger/posting-route.js';
import { createResolvers } from './resolvers/index.js';

export const SERVICE = 'user';
export const DEFAULT_PORT = 4001;
export const configSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT);
export const typeDefs = parse(readFileSync(fileURLToPath(new URL('../../../schema/user.graphql', import.meta.url)), 'utf8'));
const migrationsFolder = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface StartOptions {
  log?: Logger;
  /** Tests and `npm start` may hand in a transport; otherwise KAFKA_BROKERS decides. */
  transport?: EventTransport;
}

/** Migrates, connects, and serves the user subgraph; `stop()` drains requests, then the relay, then the pool. */
export async function start(config: SubgraphConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger(SERVICE, config.LOG_LEVEL);
  await runMigrations(config.DATABASE_URL, migrationsFolder);
  const database = connectDatabase(config.DATABASE_URL, schema, {
    ...DEFAULT_DATABASE_LIMITS,
    poolSizeMax: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  });
  const transport = options.transport ?? await createEventTransport({ brokers: config.KAFKA_BROKERS, clientId: SERVICE, topicPrefix: config.KAFKA_TOPIC_PREFIX, log });
  const relay = await startOutboxRelay({ sql: database.sql, transport, log });
  const deps = {
    db: database.db,
    tokens: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS },
  };
  return startSubgraphServer({
    name: SERVICE,
    typeDefs,
    resolvers: createResolvers(deps),
    credential: new InternalCredential(config.GATEWAY_SECRET),
    log,
    host: config.HOST,
    port: config.PORT,
    internalRoutes: { [`POST ${POSTING_PATH}`]: postingRoute(deps) },
    healthCheck: async () => void (await database.db.execute(sql`select 1`)),
    onStop: async () => {
      await relay.stop();
      if (!options.transport) await transport.close();
      await database.close();
    },
  });
}
