import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput } from '../../../../lib/errors.js';
import type { InternalClient } from '../../../../lib/internal-client.js';
import type { Currency } from '../../../../lib/money.js';
import { type UserSummary, userLookupCall } from '../../../../lib/users/lookup.js';
import type { EngineDeps } from './engine.js';
import type { FaucetSettings } from './faucet.js';

export interface WorkflowDeps extends EngineDeps {
  /** The price subgraph, for signed quotes. */
  prices: InternalClient;
  /** Verifies quotes signed by the price subgraph. */
  internalSecret: string;
  quoteTtlSeconds: number;
  /** Development only: signed-in users may deposit USD and ETH to themselves, up to these amounts per deposit and per day. */
  faucet: FaucetSettings;
}

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;

export { signedIn } from '../../../../lib/auth/access.js';

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
export function lookUpUser(deps: WorkflowDeps, key: { id: string } | { email: string }): Promise<UserSummary> {
  return deps.users.call(userLookupCall, key);
}
