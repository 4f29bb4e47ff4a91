import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { AppError, ERROR_CODES, toPublicError } from '../../lib/errors.js';
import type { GatewayContext } from './context.js';

/**
 * One subgraph as the gateway calls it: the internal credential (carrying the caller's identity) and the
 * request id on every fetch, a hard time-out, a stable UPSTREAM_UNAVAILABLE when the subgraph cannot be reached, and
 * a subgraph's refusal of the client's input passed on as the client's error.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly name: string,
    url: string,
    timeoutMs: number,
    /** Told how each fetch went: its HTTP status class (`2xx`, `4xx`, `5xx`) or `unreachable`, and how long it took. */
    onFetch: (outcome: string, durationSeconds: number) => void = () => {},
  ) {
    super({
      url,
      fetcher: (async (input: string, init: RequestInit) => {
        const startedMs = performance.now();
        const seconds = () => (performance.now() - startedMs) / 1000;
        try {
          const response = await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
          onFetch(`${Math.floor(response.status / 100)}xx`, seconds());
          return response;
        } catch (error) {
          onFetch('unreachable', seconds());
          throw error;
        }
      }) as never,
    });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    // Identity travels only inside the signed credential; client headers are never forwarded.
    request.http?.headers.set(INTERNAL_CREDENTIAL_HEADER, context.internalCredential);
    request.http?.headers.set('x-request-id', context.requestId);
  }

  override didEncounterError(error: Error, _request: unknown, fetchResponse?: { status: number }): never {
    if (error instanceof AppError) throw error;
    // No answer, a time-out or a 5xx is an outage: the one case that is UPSTREAM_UNAVAILABLE (and counted as one).
    // A 401/403 means the gateway's own credential was refused: a deployment fault that looks the same to a client.
    if (!fetchResponse || fetchResponse.status >= 500 || fetchResponse.status === 401 || fetchResponse.status === 403) {
      throw new AppError('UPSTREAM_UNAVAILABLE', `The ${this.name} service is unavailable; try again shortly`);
    }
    // Any other 4xx is a refusal of a request the subgraph would not run at all: an argument its scalar or its
    // text check rejects, a value a resolver never saw. Those are the client's to see, with the field named.
    const refusal = clientRefusal(error);
    if (refusal) throw refusal;
    // A 4xx without a client's code means the gateway sent something its subgraph does not take: our bug.
    throw new Error(`the ${this.name} subgraph refused a request with HTTP ${fetchResponse.status}: ${error.message}`);
  }
}

/** Codes a subgraph answers with 4xx that describe what the client sent. */
const CLIENT_REFUSAL_CODES: ReadonlySet<unknown> = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', ...ERROR_CODES.filter((code) => code !== 'INTERNAL' && code !== 'UPSTREAM_UNAVAILABLE')]);

function clientRefusal(error: Error): GraphQLError | undefined {
  const body = (error as { extensions?: { response?: { body?: unknown } } }).extensions?.response?.body as { errors?: GraphQLFormattedError[] } | undefined;
  const first = body?.errors?.[0];
  if (typeof first?.message !== 'string' || !CLIENT_REFUSAL_CODES.has(first.extensions?.code)) return undefined;
  // The subgraph's own filter has run already; this one keeps only the public extensions (the field, not serviceName).
  const published = toPublicError({ message: first.message, extensions: first.extensions }, () => {});
  return new GraphQLError(published.message, { extensions: published.extensions });
}
