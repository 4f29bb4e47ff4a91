import type { IncomingMessage } from 'node:http';
import type { Identity } from '../../lib/auth/identity.js';
import { bearerToken, type UserTokenSettings, verifyUserToken } from '../../lib/auth/user-token.js';
import type { AccountConfirmation } from './account-check.js';

/**
 * The caller's identity from `Authorization: Bearer`. No header is an anonymous caller (who may register
 * or log in); a header with a bad, expired or foreign token is refused outright rather than treated as
 * anonymous, so a client never silently loses its identity. A valid token whose account is gone is refused too.
 */
export async function identityFromRequest(request: IncomingMessage, tokens: UserTokenSettings, accounts: AccountConfirmation): Promise<Identity | null> {
  const token = bearerToken(request.headers.authorization);
  return token === undefined ? null : accounts.confirm(await verifyUserToken(token, tokens));
}
