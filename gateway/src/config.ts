import { z } from 'zod';
import { commonConfigShape, port, positiveInt, withSecrets } from '../../lib/config.js';
import { rateLimitConfigShape } from './rate-limit-config.js';

import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/subgraphs.js';

export type { SubgraphName };

const subgraphUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).optional();

type SubgraphUrlVariable = `${Uppercase<SubgraphName>}_SUBGRAPH_URL`;
/** The variable that moves one subgraph, e.g. USER_SUBGRAPH_URL. */
export const subgraphUrlVariable = (name: SubgraphName) => `${name.toUpperCase()}_SUBGRAPH_URL` as SubgraphUrlVariable;
/** One optional URL variable per registered subgraph (lib/subgraphs.ts), so the list is written once. */
const subgraphUrlShape = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), subgraphUrl])) as Record<SubgraphUrlVariable, typeof subgraphUrl>;

export const gatewayConfigSchema = z
  .object({
    ...commonConfigShape,
    PORT: port(4000),
    /** Where /metrics is served: a port of its own, never the public one (README, Operations). */
    METRICS_PORT: port(9400),
    SUPERGRAPH_PATH: z.string().min(1).optional(),
    /** Where each subgraph listens, when not where the committed supergraph says (e.g. inside docker-compose). */
    ...subgraphUrlShape,
    SUBGRAPH_TIMEOUT_MS: positiveInt(10_000),
    /**
     * Identical queries in flight at the same moment, to one subgraph for one identity, share one fetch
     * (gateway/src/in-flight.ts). `off` is for benchmarks, and for an operator who suspects it.
     */
    SUBGRAPH_DEDUPLICATION: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
    /**
     * On SIGTERM, how long the gateway goes on serving while /health answers 503, before it stops listening: long
     * enough for a load balancer's health checks to take it out, so no request already on its way finds the door
     * shut. 0 (the default) for a gateway that no balancer fronts; not counted in SHUTDOWN_TIMEOUT_MS.
     */
    SHUTDOWN_DELAY_MS: z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').max(60_000, 'must be at most 60000 (1 minute)').default(0),
    /** Operation limits (gateway/src/operation-limits.ts; README, "Operation limits"): what one document may ask for. */
    QUERY_DEPTH_MAX: positiveInt(10),
    QUERY_ALIASES_MAX: positiveInt(15),
    QUERY_TOKENS_MAX: positiveInt(1_000),
    QUERY_DIRECTIVES_MAX: positiveInt(50),
    QUERY_COST_MAX: positiveInt(50_000),
    /** Reconnects to a subgraph that dropped a subscription, with growing random waits, before the client is told. */
    SUBSCRIPTION_UPSTREAM_RETRY_ATTEMPTS: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(20, 'must be at most 20').default(5),
    /**
     * Bytes one client WebSocket may have waiting to be sent (events the client has not read yet) before the gateway
     * closes it with 1008 and ends its subscriptions: the bound on what a reader that stopped costs the gateway.
     */
    WEBSOCKET_SEND_BUFFER_BYTES_MAX: positiveInt(1024 * 1024).pipe(z.number().min(1024, 'must be at least 1024').max(64 * 1024 * 1024, 'must be at most 67108864 (64 MiB)')),
    /** Token holders whose account is gone are refused (gateway/src/account-check.ts): how long each answer is kept. */
    ACCOUNT_CHECK_TTL_MS: positiveInt(30_000).pipe(z.number().max(600_000, 'must be at most 600000 (10 minutes)')),
    ACCOUNT_CHECK_NEGATIVE_TTL_MS: positiveInt(5_000).pipe(z.number().max(60_000, 'must be at most 60000')),
    ACCOUNT_CHECK_OUTAGE_GRACE_MS: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(3_600_000, 'must be at most 3600000 (1 hour)').default(300_000),
    ACCOUNT_CHECK_TIMEOUT_MS: positiveInt(2_000).pipe(z.number().max(30_000, 'must be at most 30000')),
    ...rateLimitConfigShape,
  })
  .transform(withSecrets)
  .transform((config) => ({
    ...config,
    subgraphUrls: Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, config[subgraphUrlVariable(name)]])) as Record<SubgraphName, string | undefined>,
  }));

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
