import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { type Caller, INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from '../auth/internal-credential.js';
import type { Identity } from '../auth/identity.js';
import { databaseUnavailable, databaseUnavailableFormatted, isDatabaseUnavailable } from '../database-availability.js';
import { AppError, badInput, toPublicError } from '../errors.js';
import type { Logger } from '../log.js';
import { handleGraphQLHttp, listen, requestIdOf, parseJsonBody, PayloadTooLargeError, readBody, sendGraphQLError, sendJson } from './http.js';
import { METRICS_PATH, type ServiceMetrics } from './metrics.js';
import { RequestLoaders } from './request-loaders.js';
import { boundedStop, drainGraceMs } from './signals.js';
import { jsonTextRefusal, textInputPlugin } from './text-input.js';

/** What every resolver receives: who called (the gateway on behalf of a user, or a service) and the request id. */
export interface SubgraphContext {
  caller: Caller;
  /** The signed-in user the gateway vouches for; null for anonymous calls and for service calls. */
  identity: Identity | null;
  requestId: string;
  /** This request's batched reads (see request-loaders.ts): made with the context, never shared with another. */
  loaders: RequestLoaders;
}

/** An internal HTTP endpoint (`POST /internal/...`): callable only with a service or gateway credential, never public. */
export type InternalRoute = (input: { caller: Caller; body: unknown }) => Promise<{ status: number; body: unknown }>;

export interface SubgraphServerOptions {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<SubgraphContext>;
  credential: InternalCredential;
  log: Logger;
  /** Served at /metrics without a credential: a subgraph's port is internal (only the gateway is published). */
  metrics: ServiceMetrics;
  host: string;
  port: number;
  internalRoutes?: Record<string, InternalRoute>;
  /** Checked by `/health`: e.g. the database answers. */
  healthCheck?: () => Promise<void>;
  /** Closed after HTTP and WebSocket traffic has drained: relays, consumers, pools. */
  onStop?: () => Promise<void>;
  /** The bound on `stop()` in all (SHUTDOWN_TIMEOUT_MS); in-flight requests get half of it. */
  shutdownTimeoutMs: number;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** graphql-ws keep-alive: pings idle sockets so dead peers are noticed. */
const WEBSOCKET_KEEPALIVE_MS = 12_000;
const WEBSOCKET_PAYLOAD_BYTES_MAX = 64 * 1024;

function contextFor(caller: Caller, requestId: string): SubgraphContext {
  const identity = caller.kind === 'gateway' ? caller.identity : null;
  return { caller, identity, requestId, loaders: new RequestLoaders(identity) };
}

/**
 * The one bootstrap every subgraph uses: Apollo Server on `buildSubgraphSchema`, graphql-ws on the same
 * HTTP server and path, `/health`, internal routes, and a graceful drain. Every GraphQL call must carry the
 * internal credential, so a client that reaches a subgraph port directly gets 401.
 */
export async function startSubgraphServer(options: SubgraphServerOptions): Promise<RunningServer> {
  const { log, credential } = options;
  const schema = buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers }]);
  const httpServer: Server = createServer();
  const apollo = new ApolloServer<SubgraphContext>({
    schema,
    includeStacktraceInErrorResponses: false,
    // The process stops on signals itself (lib/server/signals.ts, scripts/start-all.ts); Apollo's own handler would
    // stop the server a second time and re-raise the signal, which ends the process before the drain.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => {
      if (isDatabaseUnavailable(error)) {
        log.warn({ err: error, path: formatted.path }, 'database unavailable during a request');
        return databaseUnavailableFormatted(formatted);
      }
      return toPublicError(formatted, (details) => log.error({ error: details }, 'internal error in resolver'));
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: drainGraceMs(options.shutdownTimeoutMs) }),
      ApolloServerPluginLandingPageDisabled(),
      // No Apollo Studio here; traces would only add bytes to every subgraph answer.
      ApolloServerPluginInlineTraceDisabled(),
      options.metrics.graphqlPlugin(),
      textInputPlugin(),
    ],
  });
  await apollo.start();

  const webSocketServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: WEBSOCKET_PAYLOAD_BYTES_MAX });
  const webSockets = useServer<Record<string, unknown>, { caller: Caller }>(
    {
      schema,
      onConnect: async (context) => {
        try {
          context.extra.caller = await credential.verify(String(context.connectionParams?.[INTERNAL_CREDENTIAL_HEADER] ?? ''));
          return true;
        } catch {
          return false;
        }
      },
      context: (context) => contextFor(context.extra.caller as Caller, crypto.randomUUID()),
    },
    webSocketServer,
    WEBSOCKET_KEEPALIVE_MS,
  );

  let stopping = false;

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health') return health(response);
    if (path === METRICS_PATH) return options.metrics.serve(response);
    let caller: Caller;
    try {
      caller = await credential.verify(request.headers[INTERNAL_CREDENTIAL_HEADER] as string | undefined);
    } catch (error) {
      if (error instanceof AppError) return sendGraphQLError(response, error);
      throw error;
    }
    if (path === '/graphql') return handleGraphQLHttp(apollo, request, response, async () => contextFor(caller, requestIdOf(request)));
    const route = options.internalRoutes?.[`${request.method} ${path}`];
    if (route) return internal(route, caller, request, response);
    sendJson(response, 404, { error: 'not found' });
  }

  async function health(response: ServerResponse) {
    // A stopping instance says so, so a load balancer stops sending it work while it drains.
    if (stopping) return sendJson(response, 503, { status: 'stopping', service: options.name });
    try {
      await options.healthCheck?.();
      sendJson(response, 200, { status: 'ok', service: options.name });
    } catch (error) {
      log.warn({ err: error }, 'health check failed');
      sendJson(response, 503, { status: 'unavailable', service: options.name });
    }
  }

  async function internal(route: InternalRoute, caller: Caller, request: IncomingMessage, response: ServerResponse) {
    try {
      const body = parseJsonBody(await readBody(request));
      const refusal = jsonTextRefusal(body);
      if (refusal) throw badInput(`${refusal.field} ${refusal.problem}`, { field: refusal.field });
      const result = await route({ caller, body });
      log.debug({ route: request.url, status: result.status }, 'internal request');
      sendJson(response, result.status, result.body);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) return sendGraphQLError(response, badInput(error.message));
      if (error instanceof AppError) return sendJson(response, error.httpStatus, { error: { code: error.code, message: error.message } });
      if (isDatabaseUnavailable(error)) {
        log.warn({ err: error, route: request.url }, 'database unavailable during an internal request');
        const unavailable = databaseUnavailable();
        return sendJson(response, unavailable.httpStatus, { error: { code: unavailable.code, message: unavailable.message } });
      }
      throw error;
    }
  }

  const port = await listen(httpServer, handle, { host: options.host, port: options.port, log });
  log.info({ port }, `${options.name} subgraph listening`);

  const stop = boundedStop(async () => {
    await webSockets.dispose();
    await apollo.stop();
    await options.onStop?.();
  }, options.shutdownTimeoutMs);
  return {
    url: `http://${options.host}:${port}/graphql`,
    port,
    stop: () => {
      stopping = true;
      return stop();
    },
  };
}
