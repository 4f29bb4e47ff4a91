import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { executeQueryPlan, type ServiceMap } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import { type DocumentNode, type ExecutionArgs, type ExecutionResult, GraphQLError, getOperationAST, getVariableValues } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Identity } from '../../../lib/auth/identity.js';
import type { InternalCredential } from '../../../lib/auth/internal-credential.js';
import { ExpiringCache } from '../../../lib/auth/token-cache.js';
import { bearerToken, type UserTokenSettings, verifyUserToken } from '../../../lib/auth/user-token.js';
import { AppError, toPublicError } from '../../../lib/errors.js';
import { UpstreamUnavailable } from '../../../lib/internal-client.js';
import type { Logger } from '../../../lib/log.js';
import { API_SCALARS } from '../../../lib/scalars.js';
import type { AccountConfirmation } from '../account-check.js';
import type { GatewayContext } from '../context.js';
import { checkOperation, type OperationLimits } from '../operation-limits.js';
import { operationSelectionProblem } from '../operation-resolution.js';
import { rootFieldsOf, TooManyConnections } from '../rate-limits.js';
import { scalarLiteralsRule } from '../scalar-literals.js';
import { type GroupSource, SubscriberGroups } from './groups.js';
import { SubscriptionPlanner } from './planner.js';
import { publicErrors } from './public-errors.js';
import { publicSubscriptionFields } from './public-fields.js';
import { SocketSubscriber, SocketWriter } from './socket-writer.js';
import { Upstreams } from './upstream.js';

const SUBSCRIPTIONS_PER_CONNECTION_MAX = 50;
const WEBSOCKET_PAYLOAD_BYTES_MAX = 64 * 1024;
const KEEPALIVE_MS = 12_000;
/** On stop, how long a client has to answer the close frame before its socket is dropped. */
const CLOSING_GRACE_MS = 2_000;
/** Checked subscription documents kept, so identical subscribers share one parsed document and are checked once. */
const CHECKED_DOCUMENTS_MAX = 1_000;
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
  /** Bytes a client socket may have waiting to be sent before it is closed with 1008 (WEBSOCKET_SEND_BUFFER_BYTES_MAX). */
  sendBufferBytesMax: number;
  clientAddressOf(request: IncomingMessage): string;
  /**
   * Admits a new connection of a user (null: without a token), or throws RATE_LIMITED or TooManyConnections, and
   * gives back what to call when it closes.
   */
  admitConnection(userId: string | null, clientAddress: string): Promise<() => void>;
  log: Logger;
}

/** WebSocket close code 1013, "Try Again Later": a rate limit or a cap, which graphql-ws clients retry with a back-off. */
const TRY_AGAIN_LATER_CLOSE_CODE = 1013;

/** What each subscription carries from onSubscribe to subscribe: who, where to write, and its checked document. */
interface SubscriberContext {
  identity: Identity | null;
  clientAddress: string;
  id: string;
  socket: WebSocket;
  checked: CheckedSubscription;
}

/** A subscription document checked once for everyone who sends it with the same variables. */
interface CheckedSubscription {
  /** Operation name, variables and document text: identical subscriptions have equal keys. */
  key: string;
  document: DocumentNode;
  fieldName: string;
  /** The root field carries @public: its events are the same for everyone, and no token is needed. */
  public: boolean;
  /** A resumable feed (a root field that takes `after`): never shared, see Upstreams. */
  resumable: boolean;
}

export interface SubscriptionStats {
  /** Subscriptions open from the gateway to subgraphs (identical ones share one). */
  upstreams: number;
  /** graphql-ws connections open to subgraphs (one per subgraph and identity in use). */
  upstreamConnections: number;
  /** Client WebSocket connections open. */
  clientConnections: number;
  /** Groups of identical subscribers, each completing every event once. */
  groups: number;
  subscribers: number;
  /** Events completed so far, one per event per group. */
  executions: number;
  /** Events written to client sockets so far, one per event per subscriber. */
  deliveries: number;
  /** Client sockets closed with 1008 for having more than WEBSOCKET_SEND_BUFFER_BYTES_MAX waiting. */
  slowConsumersClosed: number;
}

interface ConnectionExtra {
  identity: Identity | null;
  clientAddress: string;
}

/**
 * Subscriptions at the gateway's `/graphql` over graphql-ws, run the way Apollo Router runs them: the primary
 * fetch is a graphql-ws subscription to the owning subgraph, and each event is completed by Apollo's own
 * executor running the plan's `Rest` (entity fetches), which also shapes the result to the client's selection.
 * Subscribers with the same operation, variables and visibility share that execution and its serialised result
 * (groups.ts), which is written to each socket directly, looking at what each still has to send (socket-writer.ts).
 */
export function startSubscriptionServer(options: SubscriptionServerOptions) {
  const planner = new SubscriptionPlanner(options.supergraphSdl);
  const upstreams = new Upstreams(options.subgraphUrls, options.credential, options.upstreamRetryAttempts);
  const groups = new SubscriberGroups();
  const writer = new SocketWriter(options.sendBufferBytesMax);
  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: WEBSOCKET_PAYLOAD_BYTES_MAX });
  const extraRules = [scalarLiteralsRule(API_SCALARS)];
  const subscriptionFields = planner.apiSchema.getSubscriptionType()?.getFields() ?? {};
  const publicFields = publicSubscriptionFields(planner.supergraphSchema);
  const checkedDocuments = new ExpiringCache<CheckedSubscription | GraphQLError[]>(CHECKED_DOCUMENTS_MAX);

  /** The subscription document checked (limits, validation, one subscription operation), once per distinct text. */
  function check(query: string, operationName: string | undefined, variables: Record<string, unknown>): CheckedSubscription | GraphQLError[] {
    const key = JSON.stringify([operationName ?? null, variables, query]);
    const known = checkedDocuments.get(key);
    if (known) return known;
    const checked = checkUncached(key, query, operationName, variables);
    checkedDocuments.set(key, checked, Number.POSITIVE_INFINITY);
    return checked;
  }

  function checkUncached(key: string, query: string, operationName: string | undefined, variables: Record<string, unknown>): CheckedSubscription | GraphQLError[] {
    const checked = checkOperation(planner.apiSchema, query, operationName, variables, options.limits, extraRules);
    if (checked.errors) return publicErrors(checked.errors, options.log);
    const document = checked.document;
    const selectionProblem = operationSelectionProblem(document, operationName);
    if (selectionProblem) return [new GraphQLError(selectionProblem, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
    const operation = getOperationAST(document, operationName);
    if (operation?.operation !== 'subscription') return [new GraphQLError('Send queries and mutations over HTTP; this socket carries subscriptions', { extensions: { code: 'BAD_REQUEST' } })];
    // As on HTTP: variables that do not fit their types are the client's mistake, answered before any subgraph is asked.
    const coerced = getVariableValues(planner.apiSchema, operation.variableDefinitions ?? [], variables, { maxErrors: 10 });
    if (coerced.errors) return coerced.errors.map((error) => new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } }));
    // Validation allows one root field in a subscription ("Single root field"); a fragment spread still names it.
    const fieldName = rootFieldsOf(operation, document)[0]?.name.value ?? '';
    const resumable = subscriptionFields[fieldName]?.args.some((argument) => argument.name === 'after') ?? false;
    return { key, document, fieldName, public: publicFields.has(fieldName), resumable };
  }

  /** The group of subscribers that may share this one's executions: the same document and variables, seen by the same people. */
  function groupKey({ checked, identity }: SubscriberContext): string {
    // Never shared: a subscriber joining a resumable feed late would miss the items replayed before it came.
    if (checked.resumable) return randomUUID();
    const visibility = checked.public ? 'public' : `${identity?.userId}\n${identity?.role}`;
    return `${visibility}\n${checked.key}`;
  }

  /** A new group's upstream and its completion of each event: public groups run anonymous, personal ones as their user. */
  function startGroup(context: SubscriberContext, variables: Record<string, unknown>, operationName: string | undefined): GroupSource {
    const { checked } = context;
    const identity = checked.public ? null : context.identity;
    const plan = planner.plan(checked.document, operationName);
    const { primary, rest } = plan;
    const primaryVariables = Object.fromEntries((primary.variableUsages ?? []).filter((name) => name in variables).map((name) => [name, variables[name]]));
    const events = upstreams.subscribe(primary.serviceName, plan.upstreamOperation, primaryVariables, identity, checked.resumable ? 'resumable' : 'latest-value');
    const queryPlan: QueryPlan = { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [{ ...primary, serviceName: EVENT_SERVICE }, rest] } : { ...primary, serviceName: EVENT_SERVICE } };
    // Only what the group needs is kept from its first subscriber, never its socket: it may leave long before the group ends.
    const { document } = checked;
    const { clientAddress } = context;
    // Minted per event (the credential caches it while it has long to live): a subscription outlives any one token.
    const contextFor = async (): Promise<GatewayContext> => ({ identity, internalCredential: await options.credential.mint({ kind: 'gateway', identity }), requestId: randomUUID(), clientAddress });
    return {
      events,
      async complete(event) {
        if (!event.data) return { errors: publicErrors(event.errors ?? [], options.log) };
        const serviceMap: ServiceMap = { ...options.dataSources, [EVENT_SERVICE]: { process: async () => ({ data: event.data, errors: event.errors }) } };
        const requestContext = {
          request: { query: undefined, variables, operationName },
          context: await contextFor(),
          logger: { debug() {}, info() {}, warn: (message: unknown) => options.log.warn({ message }), error: (message: unknown) => options.log.error({ message }) },
          metrics: {},
          document,
          operationName: operationName ?? null,
        } as unknown as Parameters<typeof executeQueryPlan>[2];
        const result = await executeQueryPlan(queryPlan, serviceMap, requestContext, plan.operationContext, planner.supergraphSchema, planner.federationApiSchema);
        return { data: result.data ?? null, ...(result.errors?.length ? { errors: publicErrors(result.errors, options.log) } : {}) };
      },
      failure: (error) => publicErrorResult(error, options.log),
    };
  }

  /** One subscriber (socket-writer.ts) joins its group, starting it if it is the first. */
  function subscribe(context: SubscriberContext, variables: Record<string, unknown>, operationName: string | undefined): AsyncIterableIterator<ExecutionResult> {
    const subscriber = new SocketSubscriber(context.socket, context.id, writer);
    subscriber.joined(groups.join(groupKey(context), () => startGroup(context, variables, operationName), subscriber));
    return subscriber;
  }

  const disposable = useServer<Record<string, unknown>, Partial<ConnectionExtra>>(
    {
      schema: planner.apiSchema,
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        try {
          // No token at all is a visitor, who may open public subscriptions only; a token that is wrong is refused.
          if (header !== undefined && header !== null && typeof header !== 'string') throw new AppError('UNAUTHENTICATED', 'authorization must be a string');
          const token = bearerToken(header ?? undefined);
          ctx.extra.identity = token ? await options.accounts.confirm(await verifyUserToken(token, options.tokens)) : null;
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
        // Nothing reads the upgrade request again; kept, it would hold its headers for the connection's life.
        (ctx.extra as { request?: IncomingMessage }).request = undefined;
        try {
          const release = await options.admitConnection(ctx.extra.identity?.userId ?? null, ctx.extra.clientAddress);
          // A socket that closed while it was being admitted has already fired 'close'.
          if (ctx.extra.socket.readyState >= ctx.extra.socket.CLOSING) release();
          else ctx.extra.socket.once('close', release);
          return true;
        } catch (error) {
          // The reason is all a close frame carries (at most 123 bytes): the code and the wait, or the cap.
          if (error instanceof TooManyConnections) ctx.extra.socket.close(TRY_AGAIN_LATER_CLOSE_CODE, `TOO_MANY_CONNECTIONS: ${error.message}`);
          else if (error instanceof AppError && error.code === 'RATE_LIMITED') ctx.extra.socket.close(TRY_AGAIN_LATER_CLOSE_CODE, `RATE_LIMITED: retry in ${String(error.extensions.retryAfterSeconds)} s`);
          else throw error;
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has already reserved this subscription's id when onSubscribe runs, so it counts itself.
        if (Object.keys(ctx.subscriptions).length > SUBSCRIPTIONS_PER_CONNECTION_MAX) {
          return [new GraphQLError(`At most ${SUBSCRIPTIONS_PER_CONNECTION_MAX} subscriptions per connection`, { extensions: { code: 'RATE_LIMITED' } })];
        }
        const operationName = payload.operationName ?? undefined;
        const variables = payload.variables ?? {};
        const checked = check(payload.query, operationName, variables);
        if (Array.isArray(checked)) return checked;
        const identity = ctx.extra.identity ?? null;
        if (!identity && !checked.public) {
          return [new GraphQLError(`Sign in to subscribe to ${checked.fieldName}: send your token as connectionParams.authorization`, { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        const contextValue: SubscriberContext = { identity, clientAddress: ctx.extra.clientAddress as string, id, socket: ctx.extra.socket, checked };
        return { schema: planner.apiSchema, document: checked.document, variableValues: variables, operationName, contextValue } satisfies ExecutionArgs;
      },
      subscribe: (args) => subscribe(args.contextValue as SubscriberContext, (args.variableValues ?? {}) as Record<string, unknown>, args.operationName ?? undefined),
    },
    webSocketServer,
    KEEPALIVE_MS,
  );

  return {
    /** What is open now and what was done so far (metrics, tests, benchmarks). */
    stats: (): SubscriptionStats => ({
      upstreams: upstreams.openCount,
      upstreamConnections: upstreams.clientCount,
      clientConnections: webSocketServer.clients.size,
      groups: groups.count,
      subscribers: groups.members,
      executions: groups.executions,
      deliveries: groups.deliveries,
      slowConsumersClosed: writer.slowConsumersClosed,
    }),
    async stop() {
      // graphql-ws closes every socket with 1001 and waits for each to close; a client that stopped reading never
      // answers, so after a short grace the ones left are dropped rather than waited for.
      const dropStragglers = setTimeout(() => {
        for (const socket of webSocketServer.clients) socket.terminate();
      }, CLOSING_GRACE_MS);
      try {
        await disposable.dispose();
      } finally {
        clearTimeout(dropStragglers);
      }
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
