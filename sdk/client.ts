import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, getOperationAST, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { ERROR_CODES } from '../lib/errors.js';

/** The codes the API puts in `extensions.code` (README): the platform's own, and GraphQL's for a bad document. */
const API_ERROR_CODES = [...ERROR_CODES, 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE'] as const;

/**
 * An API code, or the client's own for failures without a GraphQL answer. A code this client does not know
 * (from a newer server) is reported as INTERNAL; the original stays in `errors[0].extensions.code`.
 */
export type EcoCoinErrorCode =
  | (typeof API_ERROR_CODES)[number]
  /** The gateway could not be reached, or did not answer within `requestTimeoutMs`. */
  | 'NETWORK_ERROR'
  /** An answer that is not a GraphQL response (e.g. a proxy's error page). */
  | 'BAD_RESPONSE'
  /** The WebSocket closed under a subscription; `closeCode` says why (1001: the gateway stopped, 1008: too slow a reader). */
  | 'CONNECTION_CLOSED';

/** One GraphQL error as it arrives on the wire. */
export interface GraphQLErrorEntry {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, unknown>;
}

/** Every failure of a request or a subscription: the first error's code, message and (for bad input) field, and all errors. */
export class EcoCoinError extends Error {
  override readonly name = 'EcoCoinError';
  readonly code: EcoCoinErrorCode;
  /** The input field at fault, when the API names one (BAD_USER_INPUT). */
  readonly field: string | undefined;
  readonly errors: readonly GraphQLErrorEntry[];
  /** The HTTP status, for a request. */
  readonly status: number | undefined;
  /** The WebSocket close code, for CONNECTION_CLOSED. */
  readonly closeCode: number | undefined;

  constructor(code: EcoCoinErrorCode, message: string, details: { errors?: readonly GraphQLErrorEntry[]; status?: number; closeCode?: number; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.code = code;
    this.errors = details.errors ?? [];
    const field = this.errors[0]?.extensions?.field;
    this.field = typeof field === 'string' ? field : undefined;
    this.status = details.status;
    this.closeCode = details.closeCode;
  }
}

/** One event of a subscription: its data, and the errors of that event alone (e.g. a field the caller may not see). */
export interface SubscriptionEvent<Result> {
  data: Result;
  errors: readonly GraphQLErrorEntry[];
}

export interface EcoCoinClientOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** Where subscriptions go; by default `url` with ws: (or wss:). */
  wsUrl?: string;
  /** A user token from register, login or POST /token. */
  token?: string;
  /** How long a request may take before it fails with NETWORK_ERROR. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** A WebSocket class; by default the global one, else the `ws` package (Node 20 has no global WebSocket). */
  webSocketImpl?: unknown;
}

/** Operations without variables (or with only optional ones) may leave them out. */
type VariablesArgument<Variables> = Record<string, never> extends Variables ? [variables?: Variables] : [variables: Variables];

export interface EcoCoinClient {
  /** Runs a query or mutation over HTTP; resolves with its data, or rejects with an EcoCoinError if any error came back. */
  request<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...variables: VariablesArgument<Variables>): Promise<Result>;
  /**
   * Starts a subscription over graphql-ws at once and yields its events until the server completes it or the
   * caller stops iterating (`break`, or `return()`). An event with no data, or a closed connection, ends it
   * with an EcoCoinError. The connection is not retried: a caller who wants to resume subscribes again.
   */
  subscribe<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...variables: VariablesArgument<Variables>): AsyncIterableIterator<SubscriptionEvent<Result>>;
  /** Signs the client in (or out, with undefined). Running subscriptions end; new ones use the new token. */
  setToken(token: string | undefined): void;
  /** Closes the WebSocket, ending every subscription. */
  dispose(): Promise<void>;
}

const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
const NORMAL_CLOSURE = 1000;
/** How the gateway closes a connection whose token is bad (garbage, expired, not Bearer); without one it opens, for public subscriptions. */
const UNAUTHORIZED_CLOSE_CODE = 4401;

const printed = new WeakMap<DocumentNode, string>();
function operationOf(document: DocumentNode, variables: unknown) {
  let query = printed.get(document);
  if (query === undefined) printed.set(document, (query = print(document)));
  return { query, variables: (variables ?? {}) as Record<string, unknown>, operationName: getOperationAST(document)?.name?.value };
}

function errorOf(errors: readonly GraphQLErrorEntry[], status?: number): EcoCoinError {
  const first = errors[0];
  const code = API_ERROR_CODES.find((known) => known === first?.extensions?.code) ?? 'INTERNAL';
  return new EcoCoinError(code, first?.message ?? 'The API answered with an error', { errors, status });
}

/** What graphql-ws ends a subscription with: GraphQL errors, a close event, or an error of the socket. */
function subscriptionErrorOf(error: unknown): EcoCoinError {
  if (Array.isArray(error)) return errorOf(error as GraphQLErrorEntry[]);
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'number') {
    const reason = 'reason' in error && error.reason ? String(error.reason) : 'no reason given';
    if (error.code === UNAUTHORIZED_CLOSE_CODE) return new EcoCoinError('UNAUTHENTICATED', `The gateway refused the token: ${reason}`, { closeCode: error.code });
    return new EcoCoinError('CONNECTION_CLOSED', `The subscription's connection closed (${error.code}: ${reason})`, { closeCode: error.code });
  }
  return new EcoCoinError('NETWORK_ERROR', `The subscription failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

const isNormalClosure = (error: unknown) => Boolean(error && typeof error === 'object' && 'code' in error && error.code === NORMAL_CLOSURE);

export function createEcoCoinClient(options: EcoCoinClientOptions): EcoCoinClient {
  const fetchImpl = options.fetch ?? fetch;
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
  const wsUrl = options.wsUrl ?? options.url.replace(/^http/, 'ws');
  let token = options.token;
  let webSocketClient: Promise<Client> | undefined;

  async function request<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesArgument<Variables>): Promise<Result> {
    let response: Response;
    try {
      response = await fetchImpl(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(operationOf(document, variables)),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (error) {
      throw new EcoCoinError('NETWORK_ERROR', `No answer from ${options.url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    let body: { data?: Result | null; errors?: GraphQLErrorEntry[] };
    try {
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new EcoCoinError('BAD_RESPONSE', `${options.url} answered ${response.status} without a GraphQL response`, { status: response.status, cause: error });
    }
    if (body.errors?.length) throw errorOf(body.errors, response.status);
    if (!response.ok || body.data === undefined || body.data === null) throw new EcoCoinError('BAD_RESPONSE', `${options.url} answered ${response.status} without data`, { status: response.status });
    return body.data;
  }

  async function openWebSocketClient(): Promise<Client> {
    const webSocketImpl = options.webSocketImpl ?? globalThis.WebSocket ?? (await import('ws')).default;
    const connectionToken = token;
    return createClient({
      url: wsUrl,
      webSocketImpl,
      lazy: true,
      retryAttempts: 0,
      connectionParams: connectionToken ? { authorization: `Bearer ${connectionToken}` } : {},
    });
  }

  function subscribe<Result, Variables>(document: TypedDocumentNode<Result, Variables>, ...[variables]: VariablesArgument<Variables>): AsyncIterableIterator<SubscriptionEvent<Result>> {
    webSocketClient ??= openWebSocketClient();
    const started = webSocketClient.then((client) => client.iterate<Result>(operationOf(document, variables)));
    // A failure to start surfaces at the first next(); until then it must not count as unhandled.
    started.catch(() => {});
    const events: AsyncIterableIterator<SubscriptionEvent<Result>> = {
      async next() {
        const iterator = await started;
        let step: Awaited<ReturnType<typeof iterator.next>>;
        try {
          step = await iterator.next();
        } catch (error) {
          if (isNormalClosure(error)) return { done: true, value: undefined };
          throw subscriptionErrorOf(error);
        }
        if (step.done) return { done: true, value: undefined };
        const { data } = step.value;
        const errors: readonly GraphQLErrorEntry[] = step.value.errors ?? [];
        if (data === undefined || data === null) {
          await iterator.return?.();
          throw errorOf(errors);
        }
        return { done: false, value: { data, errors } };
      },
      // Ends the subscription at once, even while a next() waits for an event that may never come.
      async return() {
        await (await started).return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => events,
    };
    return events;
  }

  async function closeWebSocketClient() {
    const closing = webSocketClient;
    webSocketClient = undefined;
    if (closing) await (await closing).dispose();
  }

  return {
    request,
    subscribe,
    setToken(newToken) {
      if (newToken === token) return;
      token = newToken;
      void closeWebSocketClient();
    },
    dispose: closeWebSocketClient,
  };
}
