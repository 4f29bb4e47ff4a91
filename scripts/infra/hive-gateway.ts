/**
 * What running The Guild's Hive Gateway over our subgraphs takes, shared by the test that proves the supergraph
 * standard (test/operations/hive-gateway.test.ts) and the gateway benchmark (bench/gateway).
 */
import { InternalCredential, INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { bearerToken, verifyUserToken } from '../../lib/auth/user-token.js';
import type { GatewayConfig } from '../../gateway/src/config.js';
import { readSupergraph } from '../../gateway/src/supergraph.js';

/**
 * The committed supergraph with only its routing URLs (`@join__graph(url:)`) changed to where `urlOf` says each
 * subgraph listens: every other character is the committed file's.
 */
export function supergraphRoutedTo(urlOf: (subgraph: string) => string | undefined): string {
  return readSupergraph().replace(/(@join__graph\(name: "([^"]+)", url: ")[^"]+("\))/g, (_match, head: string, name: string, tail: string) => {
    const url = urlOf(name);
    if (!url) throw new Error(`no ${name} subgraph to route the supergraph to`);
    return `${head}${url}${tail}`;
  });
}

/**
 * Hive's `propagateHeaders` for our subgraphs, which answer only a signed internal credential
 * (lib/auth/internal-credential.ts): Hive sends the one our gateway sends, minted by the same code from the
 * caller's verified bearer token, and never the client's own headers.
 */
export function internalCredentialHeaders(config: Pick<GatewayConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWT_TTL_SECONDS' | 'GATEWAY_SECRET'>) {
  const tokens = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: config.JWT_TTL_SECONDS };
  const credential = new InternalCredential(config.GATEWAY_SECRET);
  return {
    fromClientToSubgraphs: async ({ request }: { request: Request }) => {
      const token = bearerToken(request.headers.get('authorization') ?? undefined);
      const identity = token === undefined ? null : await verifyUserToken(token, tokens);
      return { [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity }) };
    },
  };
}
