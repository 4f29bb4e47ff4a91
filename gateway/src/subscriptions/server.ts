import type { IncomingMessage, Server } from 'node:http';
import { executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Identity } from '../../../lib/auth/identity.js';
import { bearerToken, type UserTokenSettings, verifyUserToken } from '../../../lib/auth/user-token.js';
import type { InternalCredential } from '../../../lib/auth/internal-credential.js';
import { AppError, toPublicError } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/log.js';
import type { GatewayContext } from '../context.js';
import { API_SCALARS } from '../../../lib/scalars.js';
import { checkOperation, type OperationLimits } from '../operation-limits.js';
import { operationSelectionProblem } from '../operation-resolution.js';
import { scalarLiteralsRule } from '../scalar-literals.js';
import { publicErrors } from './public-errors.js';
import type { AccountConfirmation } from '../account-check.js';
import { UpstreamUnavailable } from '../../../lib/internal-client.js';
import { SubscriptionPlanner, type SubscriptionPlan } from './planner.js';
import { mapAsyncIterator } from '../../../lib/events/push-queue.js';
import { type Event, Upstreams } from './upstream.js';

/** Subscription fields whose events are the same for everyone: one upstream serves every subscriber. */
const PUBLIC_SUBSCRIPTION_FIELDS = new Set(['priceUpdated']);
const SUBSCRIPTIONS_PER_CONNECTION_MAX = 50;
const WEBSOCKET_PAYLOAD_BYTES_MAX = 64 * 1024;
const KEEPALIVE_MS = 12_000;
/** The pseudo-service that "answers" the primary fetch with the event the subgraph pushed. */
const EVENT_SERVICE = '__subscription_event__';

export interface SubscriptionServerOptions {
  httpServer: Server;
  supergraphSdl: string;
  subgraphUrls: Record<string, string>;
  dataSources: ServiceMap;
  credential: InternalCredential;
  tokens: UserTokenSettings;
  /** The same operation limits as HTTP; null only in the benchmark that measures what they cost. */
  limits: OperationLimits | null;
  accounts: AccountConfirmation;
  upstreamRetryAttempts: number;
  clientAddressOf(request: IncomingMessage): string;
  /** Admits a new connection (or throws RATE_LIMITED) and gives back what to call when it closes. */
  admitConnection(userId: string, clientAddress: string): Promise<() => void>;
  log: Logger;
}

/** WebSocket close code 1013, "Try Again Later": a rate limit, which graphql-ws clients retry with a back-off. */
const TRY_AGAIN_LATER_CLOSE_CODE = 1013;

/** WebSocket close code 1008, "policy violation": the client fell too far behind its events. */
const SLOW_CONSUMER_CLOSE_CODE = 1008;

interface SubscriptionContext extends GatewayContext {
  cutOff(): void;
}

interface ConnectionExtra {
  identity: Identity;
  clientAddress: string;
}

/**
 * Subscriptions at the gateway's `/graphql` over graphql-ws, run the way Apollo Router runs them: the primary
 * fetch is a graphql-ws subscription to the owning subgraph, and each event is completed by Apollo's own
 * executor running the plan's `Rest` (entity fetches), which also shapes the result to the client's selection.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions) {
  const planner = new SubscriptionPlanner(options.supergraphSdl);
  const upstreams = new Upstreams(options.subgraphUrls, options.credential, options.upstreamRetryAttempts);
  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: WEBSOCKET_PAYLOAD_BYTES_MAX });
  const extraRules = [scalarLiteralsRule(API_SCALARS)];
  const subscriptionFields = planner.apiSchema.getSubscriptionType()?.getFields() ?? {};
  /** A root field that takes `after` is a resumable feed: its client resumes from a cursor after an interruption. */
  const isResumable = (fieldName: string | undefined) => subscriptionFields[fieldName ?? '']?.args.some((argument) => argument.name === 'after') ?? false;

  function run(plan: SubscriptionPlan, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined, context: SubscriptionContext) {
    const { primary, rest } = plan;
    const fieldName = getOperationAST(document, operationName)?.selectionSet.selections.map((selection) => (selection.kind === 'Field' ? selection.name.value : '')).join();
    const personal = !PUBLIC_SUBSCRIPTION_FIELDS.has(fieldName ?? '');
    const primaryVariables = Object.fromEntries((primary.variableUsages ?? []).filter((name) => name in variables).map((name) => [name, variables[name]]));
    const events = upstreams.subscribe(primary.serviceName, primary.operation, primaryVariables, personal ? context.identity : null, context.cutOff, isResumable(fieldName) ? 'resumable' : 'latest-value');
    const queryPlan: QueryPlan = { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [{ ...primary, serviceName: EVENT_SERVICE }, rest] } : { ...primary, serviceName: EVENT_SERVICE } };
    return mapAsyncIterator(
      events,
      (event) => complete(event, queryPlan, plan, document, variables, operationName, context),
      (error) => publicErrorResult(error, options.log),
    );
  }

  async function complete(event: Event, queryPlan: QueryPlan, plan: SubscriptionPlan, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined, context: GatewayContext): Promise<ExecutionResult> {
    if (!event.data) return { errors: publicErrors(event.errors ?? [], options.log) };
    const serviceMap: ServiceMap = { ...options.dataSources, [EVENT_SERVICE]: { process: async () => ({ data: event.data, errors: event.errors }) } };
    const requestContext = {
      request: { query: undefined, variables, operationName },
      context,
      logger: { debug() {}, info() {}, warn: (message: unknown) => options.log.warn({ message }), error: (message: unknown) => options.log.error({ message }) },
      metrics: {},
      document,
      operationName: operationName ?? null,
    } as unknown as Parameters<typeof executeQueryPlan>[2];
    const result = await executeQueryPlan(queryPlan, serviceMap, requestContext, plan.operationContext, planner.supergraphSchema, planner.federationApiSchema);
    return { data: result.data ?? null, ...(result.errors?.length ? { errors: publicErrors(result.errors, options.log) } : {}) };
  }

  const disposable = useServer<Record<string, unknown>, Partial<ConnectionExtra>>(
    {
      schema: planner.apiSchema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          const token = bearerToken(typeof header === 'string' ? header : undefined);
          if (!token) throw new AppError('UNAUTHENTICATED', 'missing token');
          ctx.extra.identity = await options.accounts.confirm(await verifyUserToken(token, options.tokens));
        } catch (error) {
          // The user subgraph did not answer: the token may be fine, so "try again later" (1013), not 4401.
          if (error instanceof UpstreamUnavailable) {
            ctx.extra.socket.close(TRY_AGAIN_LATER_CLOSE_CODE, 'Try again later');
            return false;
          }
          // graphql-ws's close code for a connection that is not authenticated.
          ctx.extra.socket.close(4401, 'Unauthorized');
          return false;
        }
        ctx.extra.clientAddress = options.clientAddressOf(ctx.extra.request);
        try {
          const release = await options.admitConnection(ctx.extra.identity.userId, ctx.extra.clientAddress);
          // A socket that closed while it was being admitted has already fired 'close'.
          if (ctx.extra.socket.readyState >= ctx.extra.socket.CLOSING) release();
          else ctx.extra.socket.once('close', release);
          return true;
        } catch (error) {
          if (!(error instanceof AppError) || error.code !== 'RATE_LIMITED') throw error;
          // The reason is all a close frame carries (at most 123 bytes): the code and the wait.
          ctx.extra.socket.close(TRY_AGAIN_LATER_CLOSE_CODE, `RATE_LIMITED: retry in ${String(error.extensions.retryAfterSeconds)} s`);
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws has already reserved this subscription's id when onSubscribe runs, so it counts itself.
        if (Object.keys(ctx.subscriptions).length > SUBSCRIPTIONS_PER_CONNECTION_MAX) {
          return [new GraphQLError(`At most ${SUBSCRIPTIONS_PER_CONNECTION_MAX} subscriptions per connection`, { extensions: { code: 'RATE_LIMITED' } })];
        }
        const checked = checkOperation(planner.apiSchema, payload.query, payload.operationName, payload.variables ?? undefined, options.limits, extraRules);
        if (checked.errors) return publicErrors(checked.errors, options.log);
        const document = checked.document;
        const selectionProblem = operationSelectionProblem(document, payload.operationName);
        if (selectionProblem) return [new GraphQLError(selectionProblem, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
        const operation = getOperationAST(document, payload.operationName ?? undefined);
        if (operation?.operation !== 'subscription') return [new GraphQLError('Send queries and mutations over HTTP; this socket carries subscriptions', { extensions: { code: 'BAD_REQUEST' } })];
        const identity = ctx.extra.identity as Identity;
        const socket = ctx.extra.socket;
        const contextValue: SubscriptionContext = {
          identity,
          internalCredential: await options.credential.mint({ kind: 'gateway', identity }),
          requestId: crypto.randomUUID(),
          clientAddress: ctx.extra.clientAddress as string,
          // A client that does not read its events is cut off rather than allowed to grow the gateway's memory.
          cutOff: () => socket.close(SLOW_CONSUMER_CLOSE_CODE, 'Too slow: more events waiting than allowed'),
        };
        return { schema: planner.apiSchema, document, variableValues: payload.variables ?? {}, operationName: payload.operationName ?? undefined, contextValue } satisfies ExecutionArgs;
      },
      subscribe: (args) => {
        const variables = (args.variableValues ?? {}) as Record<string, unknown>;
        const operationName = args.operationName ?? undefined;
        const plan = planner.plan(args.document, operationName);
        return run(plan, args.document, variables, operationName, args.contextValue as SubscriptionContext);
      },
    },
    webSocketServer,
    KEEPALIVE_MS,
  );

  return {
    upstreams,
    /** Client WebSocket connections open now (for metrics). */
    clientConnections: () => webSocketServer.clients.size,
    async stop() {
      await disposable.dispose();
      await upstreams.close();
    },
  };
}

/** An error that ends a subscription reaches the client with a public code, never a stack. */
function publicErrorResult(error: unknown, log: Logger): ExecutionResult {
  const formatted = error instanceof GraphQLError ? { message: error.message, extensions: error.extensions } : { message: String(error) };
  const published = toPublicError(formatted, (details) => log.error({ error: details }, 'subscription failed'));
  return { errors: [new GraphQLError(published.message, { extensions: published.extensions })] };
}
