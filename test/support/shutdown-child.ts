/**
 * A subgraph process for the shutdown test: the real bootstrap (lib/server/service.ts) on the real Kafka broker,
 * with a query that is slow until the process is told to stop and one that never ends, and a live feed (a Kafka
 * consumer) to disconnect. It prints `listening <url>` once up and `in-flight <label>` when a request started.
 *   slow(label)  waits for SIGTERM, then a little longer, then writes an event to the outbox and answers;
 *   hang         never answers.
 * With STUCK_TASK set it also runs a background task whose stop never ends (a broker that does not answer).
 */
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { parseConfig } from '../../lib/config.js';
import { startLiveFeed } from '../../lib/events/live-feed.js';
import { enqueueEvents } from '../../lib/events/outbox.js';
import { walletEvent } from './events.js';
import { silentLogger } from '../../lib/log.js';
import { startSubgraphService } from '../../lib/server/service.js';
import { stopOnSignals } from '../../lib/server/signals.js';
import { subgraphConfigSchema } from '../../lib/service-config.js';

/** How long the slow request goes on after SIGTERM, so it is still in flight while the server drains. */
const SLOW_AFTER_SIGTERM_MS = 300;

const sigterm = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
const config = parseConfig(subgraphConfigSchema('shutdown', 0), process.env);
const server = await startSubgraphService(
  {
    service: 'shutdown',
    schema: {},
    typeDefs: parse(/* GraphQL */ `type Query { slow(label: String!): String!, hang: Boolean }`),
    // Only the outbox tables are needed; the user service's migrations bring them.
    migrationsFolder: fileURLToPath(new URL('../../subgraphs/user/src/db/migrations', import.meta.url)),
    async setup(runtime) {
      const feed = await startLiveFeed({ transport: runtime.transport, topics: ['wallet.updated'], service: 'shutdown', log: runtime.log, metrics: runtime.metrics });
      return {
        resolvers: {
          Query: {
            slow: async (_parent: unknown, { label }: { label: string }) => {
              process.stdout.write(`in-flight ${label}\n`);
              await sigterm;
              await new Promise((resolve) => setTimeout(resolve, SLOW_AFTER_SIGTERM_MS));
              await runtime.db.transaction((tx) => enqueueEvents(tx, [walletEvent(label)]));
              return label;
            },
            hang: async () => {
              process.stdout.write('in-flight hang\n');
              return new Promise<never>(() => {});
            },
          },
        },
        tasks: [feed, ...(process.env.STUCK_TASK ? [{ stop: () => new Promise<never>(() => {}) }] : [])],
      };
    },
  },
  config,
  { log: silentLogger },
);
stopOnSignals(server);
process.stdout.write(`listening ${server.url}\n`);
