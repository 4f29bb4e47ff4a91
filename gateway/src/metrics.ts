import { createServer } from 'node:http';
import type { Logger } from '../../lib/log.js';
import { listen, sendJson } from '../../lib/server/http.js';
import { METRICS_PATH, ServiceMetrics } from '../../lib/server/metrics.js';
import type { SubscriptionStats } from './subscriptions/server.js';

export interface GatewayMetrics {
  metrics: ServiceMetrics;
  /** The SubgraphSource callback that times fetches to `subgraph`. */
  observeFetch(subgraph: string): (outcome: string, durationSeconds: number) => void;
  /** The SubgraphSource callback that counts fetches to `subgraph` answered by an identical one in flight. */
  countDeduplicated(subgraph: string): () => void;
  observeSubscriptions(stats: () => SubscriptionStats): void;
  /**
   * Serves /metrics on a listener of its own. The gateway's public port is the one published to the internet, and
   * metrics (operation names, load, subgraph health) are for operators: a scraper reaches this port on the internal
   * network, without a credential, and nothing outside does.
   */
  serve(options: { host: string; port: number }): Promise<{ url: string; stop(): Promise<void> }>;
}

export function createGatewayMetrics(log: Logger): GatewayMetrics {
  const metrics = new ServiceMetrics('gateway', log);
  const fetchDuration = metrics.histogram({
    name: 'ecocoin_gateway_subgraph_fetch_duration_seconds',
    help: 'Time of each HTTP fetch from the gateway to a subgraph, by subgraph and outcome (HTTP status class or unreachable)',
    labelNames: ['subgraph', 'outcome'],
  });
  const deduplicated = metrics.counter({
    name: 'ecocoin_gateway_subgraph_fetches_deduplicated_total',
    help: 'Fetches from the gateway to a subgraph not made because an identical query in flight answered them, by subgraph',
    labelNames: ['subgraph'],
  });
  return {
    metrics,
    observeFetch: (subgraph) => (outcome, durationSeconds) => fetchDuration.observe({ subgraph, outcome }, durationSeconds),
    countDeduplicated: (subgraph) => () => deduplicated.inc({ subgraph }),
    observeSubscriptions(stats) {
      metrics.gauge({
        name: 'ecocoin_gateway_subscription_upstreams',
        help: 'Subscriptions open from the gateway to subgraphs (identical client subscriptions share one)',
        read: async () => [{ value: stats().upstreams }],
      });
      metrics.gauge({
        name: 'ecocoin_gateway_subscription_upstream_connections',
        help: 'graphql-ws connections open from the gateway to subgraphs (one per subgraph and identity in use)',
        read: async () => [{ value: stats().upstreamConnections }],
      });
      metrics.gauge({
        name: 'ecocoin_gateway_websocket_connections',
        help: 'Client WebSocket connections open at the gateway',
        read: async () => [{ value: stats().clientConnections }],
      });
      metrics.gauge({
        name: 'ecocoin_gateway_subscription_groups',
        help: 'Groups of identical client subscriptions (same operation, variables and visibility), each completing every event once',
        read: async () => [{ value: stats().groups }],
      });
      metrics.gauge({
        name: 'ecocoin_gateway_subscription_subscribers',
        help: 'Client subscriptions open at the gateway',
        read: async () => [{ value: stats().subscribers }],
      });
      metrics.counterOf({
        name: 'ecocoin_gateway_subscription_executions_total',
        help: 'Subscription events completed (entity fetches and result shaping), one per event per group of identical subscribers',
        read: () => stats().executions,
      });
      metrics.counterOf({
        name: 'ecocoin_gateway_subscription_deliveries_total',
        help: 'Subscription events written to client sockets, one per event per subscriber',
        read: () => stats().deliveries,
      });
      metrics.counterOf({
        name: 'ecocoin_gateway_websocket_slow_consumers_closed_total',
        help: 'Client WebSockets closed with 1008 for having more unsent bytes waiting than WEBSOCKET_SEND_BUFFER_BYTES_MAX',
        read: () => stats().slowConsumersClosed,
      });
    },
    async serve({ host, port }) {
      const server = createServer();
      const boundPort = await listen(
        server,
        async (request, response) => {
          if ((request.url ?? '/').split('?')[0] === METRICS_PATH) return metrics.serve(response);
          sendJson(response, 404, { error: 'not found' });
        },
        { host, port, log },
      );
      return {
        url: `http://${host}:${boundPort}${METRICS_PATH}`,
        stop: () =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      };
    },
  };
}
