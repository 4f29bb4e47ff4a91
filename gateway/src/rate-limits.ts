import type { ServerResponse } from 'node:http';
import type { ApolloServerPlugin, GraphQLResponse } from '@apollo/server';
import { type DocumentNode, type FieldNode, Kind, type OperationDefinitionNode, type SelectionSetNode, valueFromASTUntyped } from 'graphql';
import { type AppError, badInput } from '../../lib/errors.js';
import { sendJson } from '../../lib/server/http.js';
import type { Logger } from '../../lib/log.js';
import type { GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { openRateLimitStore, rateLimited, take } from './rate-limit-store.js';
import { createSignInLockout, type SignInAttempt, type SignInOutcome } from './sign-in-lockout.js';

/** Mutation fields that move money or tokens (schema/supergraph.graphql); each one in a document counts. */
export const MONEY_MUTATIONS: ReadonlySet<string> = new Set([
  'deposit',
  'transfer',
  'pay',
  'purchaseCarbonCredits',
  'retireCarbonCredits',
  'withdrawCarbon',
  'supplyMarket',
  'stake',
  'unstake',
  'claimRewards',
  'mintCarbonOnChain',
]);
const MINUTE_SECONDS = 60;

export type GatewayRateLimits = Awaited<ReturnType<typeof startRateLimits>>;

/** Every rate limit of the gateway, counted in its PostgreSQL so that all instances share them (README, "Rate limits"). */
export async function startRateLimits(config: GatewayConfig, log: Logger) {
  const store = await openRateLimitStore(config.DATABASE_URL, { storeTimeoutMs: config.RATE_LIMIT_STORE_TIMEOUT_MS, log });
  const anonymous = store.limiter('anonymous-requests', config.ANONYMOUS_REQUESTS_PER_ADDRESS_PER_MINUTE, MINUTE_SECONDS);
  const money = store.limiter('money-mutations', config.MONEY_MUTATIONS_PER_USER_PER_MINUTE, MINUTE_SECONDS);
  const socketsByUser = store.limiter('websocket-user', config.WEBSOCKET_CONNECTIONS_PER_USER_PER_MINUTE, MINUTE_SECONDS);
  const socketsByAddress = store.limiter('websocket-address', config.WEBSOCKET_CONNECTIONS_PER_ADDRESS_PER_MINUTE, MINUTE_SECONDS);
  const openByUser = new OpenConnections(config.WEBSOCKET_OPEN_CONNECTIONS_PER_USER_MAX, 'per user');
  const openAnonymousByAddress = new OpenConnections(config.WEBSOCKET_OPEN_ANONYMOUS_CONNECTIONS_PER_ADDRESS_MAX, 'without a token per address');
  const signIns = createSignInLockout(store, {
    failuresPerAccountMax: config.SIGN_IN_FAILURES_PER_ACCOUNT_MAX,
    failuresPerAddressMax: config.SIGN_IN_FAILURES_PER_ADDRESS_MAX,
    failureWindowSeconds: config.SIGN_IN_FAILURE_WINDOW_SECONDS,
    lockoutSeconds: config.SIGN_IN_LOCKOUT_SECONDS,
    lockoutMaxSeconds: config.SIGN_IN_LOCKOUT_MAX_SECONDS,
    lockoutMemorySeconds: config.SIGN_IN_LOCKOUT_MEMORY_SECONDS,
  });
  const moneyMessage = `At most ${config.MONEY_MUTATIONS_PER_USER_PER_MINUTE} money mutations a minute`;

  return {
    /** A request without a token, counted by its client address. */
    anonymousRequest: (address: string) => take(anonymous, address, 1, 'Too many requests without a token from your address'),

    /**
     * A new WebSocket connection of `userId` (null: without a token) from `address`; resolves with the function to
     * call when it closes. New connections are counted per minute in the shared store; open ones in this instance,
     * per user, and per address for those without a token.
     */
    async admitWebSocket(userId: string | null, address: string): Promise<() => void> {
      const open = userId === null ? openAnonymousByAddress : openByUser;
      const holder = userId ?? address;
      open.check(holder);
      await take(socketsByAddress, address, 1, 'Too many new connections from your address');
      if (userId !== null) await take(socketsByUser, userId, 1, 'Too many new connections for your account');
      return open.add(holder);
    },

    /** Sign-in lock-outs and money mutations, wherever an operation runs through Apollo (POST /graphql and /token). */
    plugin(): ApolloServerPlugin<GatewayContext> {
      return {
        async requestDidStart() {
          let signIn: { attempt: SignInAttempt; responseKey: string } | undefined;
          return {
            async didResolveOperation({ operation, document, request, contextValue }) {
              if (operation?.operation !== 'mutation') return;
              const fields = rootFieldsOf(operation, document);
              const logins = fields.filter((field) => field.name.value === 'login');
              // Aliases would otherwise try many passwords in one request against one count.
              if (logins.length > 1) throw badInput('Send one login per request');
              const moneyFields = fields.filter((field) => MONEY_MUTATIONS.has(field.name.value)).length;
              if (moneyFields > 0 && contextValue.identity) await take(money, contextValue.identity.userId, moneyFields, moneyMessage);
              const login = logins[0];
              const email = login && argumentOf(login, 'email', request.variables);
              if (login && typeof email === 'string') {
                signIn = { attempt: await signIns.begin(email, contextValue.clientAddress), responseKey: login.alias?.value ?? login.name.value };
              }
            },
            async willSendResponse({ response }) {
              if (signIn) await signIn.attempt.finish(signInOutcome(response, signIn.responseKey));
              const retryAfterSeconds = retryAfterOf(response);
              if (retryAfterSeconds !== undefined) {
                response.http.status = 429;
                response.http.headers.set('retry-after', String(retryAfterSeconds));
              }
            },
          };
        },
      };
    },

    stop: () => store.stop(),
  };
}

/** A WebSocket connection past a cap of open ones: refused with a close frame, not a GraphQL error. */
export class TooManyConnections extends Error {}

/**
 * WebSocket connections held open at once, per holder (a user, or an address without a token), on this instance:
 * a connection lives on the instance that accepted it, so no shared store is needed to count it.
 */
class OpenConnections {
  readonly #open = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly per: string,
  ) {}

  /** Throws TOO_MANY_CONNECTIONS when `holder` already holds the most allowed. */
  check(holder: string): void {
    if ((this.#open.get(holder) ?? 0) >= this.max) throw new TooManyConnections(`at most ${this.max} open ${this.per}`);
  }

  /** Counts one more connection of `holder`; the function returned (idempotent) counts it closed. */
  add(holder: string): () => void {
    this.#open.set(holder, (this.#open.get(holder) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(holder) ?? 1) - 1;
      if (left > 0) this.#open.set(holder, left);
      else this.#open.delete(holder);
    };
  }
}

/** An HTTP refusal before Apollo is reached: 429, Retry-After, and the GraphQL error shape. */
export function sendRateLimited(response: ServerResponse, error: AppError): void {
  const retryAfterSeconds = Number(error.extensions.retryAfterSeconds);
  sendJson(response, 429, { errors: [{ message: error.message, extensions: { code: error.code, retryAfterSeconds } }] }, { 'retry-after': String(retryAfterSeconds) });
}

/** The operation's root fields, through fragments (each fragment followed once, so linear in the document). */
export function rootFieldsOf(operation: OperationDefinitionNode, document: DocumentNode): FieldNode[] {
  const fragments = new Map(document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));
  const seen = new Set<string>();
  const fields: FieldNode[] = [];
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return fields;
}

function argumentOf(field: FieldNode, name: string, variables: Record<string, unknown> | undefined): unknown {
  const argument = field.arguments?.find((candidate) => candidate.name.value === name);
  return argument ? valueFromASTUntyped(argument.value, variables) : undefined;
}

type SingleResult = Extract<GraphQLResponse['body'], { kind: 'single' }>['singleResult'];
const singleResultOf = (response: GraphQLResponse): SingleResult | undefined => (response.body.kind === 'single' ? response.body.singleResult : undefined);

/** Signed in when the field answered; failed when the user subgraph said the email or password is wrong. */
function signInOutcome(response: GraphQLResponse, responseKey: string): SignInOutcome {
  const result = singleResultOf(response);
  if ((result?.data as Record<string, unknown> | null | undefined)?.[responseKey]) return 'succeeded';
  const wrong = result?.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED' && (error.path === undefined || error.path[0] === responseKey));
  return wrong ? 'failed' : 'undecided';
}

function retryAfterOf(response: GraphQLResponse): number | undefined {
  const limited = singleResultOf(response)?.errors?.find((error) => error.extensions?.code === 'RATE_LIMITED' && typeof error.extensions.retryAfterSeconds === 'number');
  return limited?.extensions?.retryAfterSeconds as number | undefined;
}
