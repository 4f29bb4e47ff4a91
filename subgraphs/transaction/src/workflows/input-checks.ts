import { badInput } from '../../../../lib/errors.js';
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

/** Who a user id or email is, from the user subgraph; NOT_FOUND when nobody. */
export function lookUpUser(deps: TransactionDeps, key: { id: string } | { email: string }): Promise<UserSummary> {
  return deps.users.call(userLookupCall, key);
}
