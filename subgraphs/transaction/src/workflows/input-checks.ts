import { badInput } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { type UserSummary, userLookupCall } from '../../../../lib/users/lookup.js';
import type { TransactionDeps } from '../deps.js';

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;

export function checkIdempotencyKey(key: string): string {
  if (key.length < 1 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    throw badInput(`idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`, { field: 'idempotencyKey' });
  }
  return key;
}

export function checkText(value: string | null | undefined, field: string, lengthMax: number, required: boolean): string | null {
  const text = value?.trim() ?? '';
  if (required && text === '') throw badInput(`${field} must not be empty`, { field });
  if (text.length > lengthMax) throw badInput(`${field} must be at most ${lengthMax} characters`, { field });
  return text === '' ? null : text;
}

/**
 * Users are never deleted, so an id the user subgraph once answered for stays a user's: a transfer to a
 * recipient seen lately skips one HTTP request and one SQL query. The age bound covers a user removed by an
 * operator's hand (a posting to one would still be refused: the wallet is gone).
 */
const KNOWN_USER_ID_TTL_MS = 10 * 60_000;
/** How many ids the cache holds (ExpiringCache starts over when full); 36-byte keys, well under a megabyte. */
export const KNOWN_USER_IDS_MAX = 10_000;

/** The id of the user `to` names (a user id or an email); NOT_FOUND when nobody. */
export async function userIdOf(deps: Pick<TransactionDeps, 'users' | 'knownUserIds'>, to: string): Promise<string> {
  if (!isUuid(to)) return (await lookUpUser(deps, { email: to })).id;
  if (deps.knownUserIds.get(to)) return to;
  const user = await lookUpUser(deps, { id: to });
  deps.knownUserIds.set(user.id, true, Date.now() + KNOWN_USER_ID_TTL_MS);
  return user.id;
}

/** Who a user id or email is, from the user subgraph; NOT_FOUND when nobody. */
export function lookUpUser(deps: Pick<TransactionDeps, 'users'>, key: { id: string } | { email: string }): Promise<UserSummary> {
  return deps.users.call(userLookupCall, key);
}
