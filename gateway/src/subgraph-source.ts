import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { AppError } from '../../lib/errors.js';
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
  ) {
    super({
      url,
      fetcher: (input, init) => fetch(input, { ...(init as RequestInit), signal: AbortSignal.timeout(timeoutMs) }) as never,
    });
  }

  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    // Identity travels only inside the signed credential; client headers are never forwarded.
    request.http?.headers.set(INTERNAL_CREDENTIAL_HEADER, context.internalCredential);
    request.http?.headers.set('x-request-id', context.requestId);
  }

  override didEncounterError(error: Error): never {
    if (error instanceof AppError) throw error;
    throw new AppError('UPSTREAM_UNAVAILABLE', `The ${this.name} service is unavailable; try again shortly`);
  }
}
