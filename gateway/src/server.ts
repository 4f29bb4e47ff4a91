import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { setTimeout as delay } from 'node:timers/promises';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { InternalCredential } from '../../lib/auth/internal-credential.js';
import type { UserTokenSettings } from '../../lib/auth/user-token.js';
import { AppError, toPublicError } from '../../lib/errors.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { handleGraphQLHttp, listen, requestIdOf, sendGraphQLError, sendJson } from '../../lib/server/http.js';
import { refusedRequest } from '../../lib/server/request-refusal.js';
import { boundedStop, drainGraceMs } from '../../lib/server/signals.js';
import { API_SCALARS } from '../../lib/scalars.js';
import type { RunningServer } from '../../lib/server/subgraph-server.js';
import { type AccountConfirmation, accountCheckFor } from './account-check.js';
import { identityFromRequest } from './auth.js';
import { clientAddressOf } from './client-address.js';
import type { GatewayConfig, SubgraphName } from './config.js';
import type { GatewayContext } from './context.js';
import { graphiqlRoute } from './graphiql/serve.js';
import { unsupportedIntrospectionRule } from './introspection-fields.js';
import { operationSelectionPlugin } from './operation-resolution.js';
import { scalarLiteralsRule } from './scalar-literals.js';
import { createGatewayMetrics } from './metrics.js';
import { apolloOperationLimits, type OperationLimits, operationLimitsOf, withoutSuggestions } from './operation-limits.js';
import { checkSubgraphs } from './readiness.js';
import { SubgraphSource } from './subgraph-source.js';
import { sendRateLimited, startRateLimits } from './rate-limits.js';
import { readSupergraph, type SubgraphEndpoint, subgraphsOf } from './supergraph.js';
import { type SubscriptionStats, startSubscriptionServer } from './subscriptions/server.js';
import { handleTokenRequest } from './token-endpoint.js';

export interface GatewayOptions {
  log?: Logger;
  /** Defaults to the committed schema/supergraph.graphql. */
  supergraphSdl?: string;
  /** Only for the benchmark that measures what the operation limits cost: `false` runs without them. */
  operationLimits?: false;
  /** Defaults to asking the user subgraph (AccountCheck); the benchmark measures the gateway without it. */
  accounts?: AccountConfirmation;
}

/** The public entry point: one GraphQL endpoint over the committed supergraph, plus /token, /health and /ready. */
/** A subscription sent over HTTP gets a clear answer instead of the executor's internal refusal. */
const subscriptionsOverWebSocketOnly: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation === 'subscription') {
          throw refusedRequest('BAD_REQUEST', 'Subscriptions run over WebSocket (graphql-ws) at this same /graphql path, with the token in connectionParams');
        }
      },
    };
  },
};

export interface RunningGateway extends RunningServer {
  /** Where Prometheus scrapes the gateway: METRICS_PORT, not the public port. */
  metricsUrl: string;
  /** How many upstream subscriptions to subgraphs are open (identical client subscriptions share one). */
  subscriptionStats(): SubscriptionStats;
}

export async function start(config: GatewayConfig, options: GatewayOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger('gateway', config.LOG_LEVEL);
  const production = config.NODE_ENV === 'production';
  const supergraphSdl = options.supergraphSdl ?? readSupergraph(config.SUPERGRAPH_PATH);
  const subgraphs: SubgraphEndpoint[] = subgraphsOf(supergraphSdl).map(({ name, url }) => ({ name, url: config.subgraphUrls[name as SubgraphName] ?? url }));
  const tokens: UserTokenSettings = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS };
  const credential = new InternalCredential(config.GATEWAY_SECRET);
  const limits: OperationLimits | null = options.operationLimits === false ? null : operationLimitsOf(config);
  const apolloLimits = limits ? apolloOperationLimits<GatewayContext>(limits) : null;
  const accounts = options.accounts ?? accountCheckFor(config, subgraphs, credential, log);

  const rateLimits = await startRateLimits(config, log);
  const httpServer = createServer();
  // @apollo/gateway otherwise sends usage telemetry to Apollo and probes cloud metadata addresses
  // (169.254.169.254 and friends) to describe the host. Nothing of ours leaves the deployment unasked;
  // the library reads only this variable, so it is set here, once, before the gateway is made.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  // One data source per subgraph, shared by queries (ApolloGateway) and subscriptions (their entity fetches).
  const observability = createGatewayMetrics(log);
  const dataSources = Object.fromEntries(
    subgraphs.map(({ name, url }) => [
      name,
      new SubgraphSource(name, url, {
        timeoutMs: config.SUBGRAPH_TIMEOUT_MS,
        deduplicate: config.SUBGRAPH_DEDUPLICATION === 'on',
        onFetch: observability.observeFetch(name),
        onDeduplicated: observability.countDeduplicated(name),
      }),
    ]),
  );
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const source = dataSources[name];
      if (!source) throw new Error(`supergraph names an unknown subgraph ${name}`);
      return source;
    },
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    // The process stops on signals itself (lib/server/signals.ts, scripts/start-all.ts); Apollo's own handler would
    // stop the server a second time and re-raise the signal, which ends the process before the drain.
    stopOnTerminationSignals: false,
    parseOptions: apolloLimits?.parseOptions,
    validationRules: [...(apolloLimits?.validationRules ?? []), scalarLiteralsRule(API_SCALARS), unsupportedIntrospectionRule],
    validationOptions: apolloLimits?.validationOptions,
    formatError: (formatted) => {
      const published = toPublicError(formatted, (details) => log.error({ error: details }, 'internal error'));
      // Variable coercion in @apollo/gateway still words its errors with suggestions.
      return production ? { ...published, message: withoutSuggestions(published.message) } : published;
    },
    plugins: [
      ...(apolloLimits ? [apolloLimits.costPlugin] : []),
      subscriptionsOverWebSocketOnly,
      rateLimits.plugin(),
      operationSelectionPlugin(),
      observability.metrics.graphqlPlugin(),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: drainGraceMs(config.SHUTDOWN_TIMEOUT_MS) }),
      production ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
  });
  await apollo.start();
  const subscriptions = startSubscriptionServer({
    httpServer,
    supergraphSdl,
    subgraphUrls: Object.fromEntries(subgraphs.map(({ name, url }) => [name, url])),
    dataSources,
    credential,
    tokens,
    limits,
    accounts,
    upstreamRetryAttempts: config.SUBSCRIPTION_UPSTREAM_RETRY_ATTEMPTS,
    sendBufferBytesMax: config.WEBSOCKET_SEND_BUFFER_BYTES_MAX,
    clientAddressOf: (request) => clientAddressOf(request, config.TRUSTED_PROXY_HOPS),
    admitConnection: rateLimits.admitWebSocket,
    log,
  });
  // Like the Sandbox, GraphiQL is a development tool: production has no introspection for it to read a schema from.
  const graphiql = production ? null : graphiqlRoute(log);

  let stopping = false;
  // Subscriptions end first (graphql-ws closes each socket with 1001 "Going away"), then HTTP drains; all within the bound.
  const stop = boundedStop(async () => {
    await subscriptions.stop();
    await apollo.stop();
    await metricsServer.stop();
    await rateLimits.stop();
  }, config.SHUTDOWN_TIMEOUT_MS);

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0];
    // A stopping gateway says so, so a load balancer stops sending it work while it drains.
    if (path === '/health') return stopping ? sendJson(response, 503, { status: 'stopping' }) : sendJson(response, 200, { status: 'ok' });
    if (path === '/ready') {
      const report = await checkSubgraphs(subgraphs);
      return sendJson(response, report.ready ? 200 : 503, report);
    }
    if (graphiql && (path === '/graphiql' || path?.startsWith('/graphiql/'))) return graphiql(request, response, path);
    let identity: GatewayContext['identity'];
    try {
      identity = await identityFromRequest(request, tokens, accounts);
    } catch (error) {
      if (error instanceof AppError) return sendGraphQLError(response, error);
      throw error;
    }
    const clientAddress = clientAddressOf(request, config.TRUSTED_PROXY_HOPS);
    if (!identity && (path === '/graphql' || path === '/' || path === '/token')) {
      try {
        await rateLimits.anonymousRequest(clientAddress);
      } catch (error) {
        if (error instanceof AppError && error.code === 'RATE_LIMITED') return sendRateLimited(response, error);
        throw error;
      }
    }
    const context = async (): Promise<GatewayContext> => ({ identity, internalCredential: await credential.mint({ kind: 'gateway', identity }), requestId: requestIdOf(request), clientAddress });
    if (path === '/token' && request.method === 'POST') return handleTokenRequest(apollo, request, response, context);
    if (path === '/graphql' || path === '/') return handleGraphQLHttp(apollo, request, response, context);
    sendJson(response, 404, { error: 'not found' });
  }

  observability.observeSubscriptions(() => subscriptions.stats());
  const metricsServer = await observability.serve({ host: config.HOST, port: config.METRICS_PORT });
  const port = await listen(httpServer, handle, { host: config.HOST, port: config.PORT, log });
  log.info({ port, subgraphs: subgraphs.map((subgraph) => subgraph.name) }, 'gateway listening');

  return {
    url: `http://${config.HOST}:${port}/graphql`,
    port,
    metricsUrl: metricsServer.url,
    subscriptionStats: () => subscriptions.stats(),
    stop: () => {
      if (stopping) return stop();
      stopping = true;
      // Still serving, /health already 503: the balancer takes this instance out before it stops listening.
      return config.SHUTDOWN_DELAY_MS > 0 ? delay(config.SHUTDOWN_DELAY_MS).then(stop) : stop();
    },
  };
}
