import { forbidden, unauthenticated } from '../errors.js';
import type { Identity } from './identity.js';

/** The caller, who must be signed in; UNAUTHENTICATED otherwise. */
export function signedIn(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/**
 * A user's own data is theirs and an ADMIN's: the one rule every subgraph applies, on every path. Data that
 * belongs to no user (`null`, e.g. an operator's chain transaction) is an ADMIN's only.
 */
export function isOwnerOrAdmin(identity: Identity | null, userId: string | null): identity is Identity {
  return identity !== null && (identity.role === 'ADMIN' || identity.userId === userId);
}

/** The caller, if they own `userId`'s data or are an ADMIN; UNAUTHENTICATED or FORBIDDEN otherwise. */
export function requireOwnerOrAdmin(identity: Identity | null, userId: string, message: string): Identity {
  const caller = signedIn(identity);
  if (!isOwnerOrAdmin(caller, userId)) throw forbidden(message);
  return caller;
}
