import type { Identity } from '../../lib/auth/identity.js';

export interface GatewayContext {
  identity: Identity | null;
  /** Minted once per request for the subgraphs it calls. */
  internalCredential: string;
  requestId: string;
  /** Who rate limits count an anonymous caller as (client-address.ts). */
  clientAddress: string;
}
