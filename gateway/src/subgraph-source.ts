import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { AppError, ERROR_CODES, type ErrorCode } from '../../lib/errors.js';
import type { GatewayContext } from './context.js';

/**
 * One subgraph as the gateway calls it: the internal credential (carrying the caller's identity) and the
 * request id on every fetch, a hard time-out, and a stable UPSTREAM_UNAVAILABLE when the subgraph cannot be reached.
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
    // A subgraph refuses a request it cannot even execute (e.g. an argument its scalar rejects) with HTTP 400
    // and GraphQL errors; those are the client's to see. A 401/403 here means the gateway's own credential
    // was refused: a deployment fault, not the client's.
    const refusal = fetchResponse && fetchResponse.status !== 401 && fetchResponse.status !== 403 ? firstGraphQLError(error) : undefined;
    if (refusal) throw new AppError(refusal.code, refusal.message);
    throw new AppError('UPSTREAM_UNAVAILABLE', `The ${this.name} service is unavailable; try again shortly`);
  }
}

function firstGraphQLError(error: Error): { code: ErrorCode; message: string } | undefined {
  const body = (error as { extensions?: { response?: { body?: unknown } } }).extensions?.response?.body as { errors?: { message?: unknown; extensions?: { code?: unknown } }[] } | undefined;
  const first = body?.errors?.[0];
  const code = first?.extensions?.code;
  if (typeof first?.message !== 'string' || !(ERROR_CODES as readonly unknown[]).includes(code)) return undefined;
  return { code: code as ErrorCode, message: first.message };
}
