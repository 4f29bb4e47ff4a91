import type { Identity } from '../../lib/auth/identity.js';

export interface GatewayContext {
  identity: Identity | null;
  /** Minted once per request for the subgraphs it calls. */
  internalCredential: string;
  requestId: string;
}
