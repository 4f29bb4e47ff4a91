import { createHash } from 'node:crypto';
import { backoffDelayMs } from '../../lib/backoff.js';
import { rateLimited, type RateLimitStore, type SharedLimiter } from './rate-limit-store.js';

export interface SignInLimits {
  failuresPerAccountMax: number;
  failuresPerAddressMax: number;
  failureWindowSeconds: number;
  lockoutSeconds: number;
  lockoutMaxSeconds: number;
  lockoutMemorySeconds: number;
}

/** What a sign-in came to, as its answer shows it. */
export type SignInOutcome = 'succeeded' | 'failed' | 'undecided';

export interface SignInAttempt {
  finish(outcome: SignInOutcome): Promise<void>;
}

interface Subject {
  key: string;
  failures: SharedLimiter;
  lockouts: SharedLimiter;
  failuresMax: number;
  /** An account's count starts again at its owner's successful sign-in; an address's does not (one known account would wipe it). */
  resetOnSuccess: boolean;
}

const LOCKED_MESSAGE = 'Too many failed sign-ins';
/** The wait suggested to a sign-in refused because others for the same account or address are still being checked. */
const IN_FLIGHT_RETRY_MS = 1000;

/**
 * Failed sign-ins per account and per client address, with growing lock-outs: after `failuresMax` failures in a
 * row the subject is locked for `lockoutSeconds`, and each further lock-out within `lockoutMemorySeconds` lasts
 * twice as long as the one before (up to `lockoutMaxSeconds`). While locked, every sign-in is refused before the
 * password is checked, the right password included. The same answer for an unknown email as for a known one.
 */
export function createSignInLockout(store: RateLimitStore, limits: SignInLimits) {
  const failures = {
    account: store.limiter('sign-in-failures-account', limits.failuresPerAccountMax, limits.failureWindowSeconds),
    address: store.limiter('sign-in-failures-address', limits.failuresPerAddressMax, limits.failureWindowSeconds),
  };
  // Points do not matter here: lock-outs are only counted (penalty), never refused.
  const lockouts = {
    account: store.limiter('sign-in-lockouts-account', 1, limits.lockoutMemorySeconds),
    address: store.limiter('sign-in-lockouts-address', 1, limits.lockoutMemorySeconds),
  };

  async function lockOut(subject: Subject): Promise<void> {
    const { consumedPoints } = await subject.lockouts.penalty(subject.key, 1);
    const seconds = backoffDelayMs(consumedPoints - 1, { baseMs: limits.lockoutSeconds * 1000, maxMs: limits.lockoutMaxSeconds * 1000 }) / 1000;
    // A block stores failuresMax + 1 points until it ends, which is what `lockedFor` looks for.
    await subject.failures.block(subject.key, seconds);
  }

  async function lockedForMs(subject: Subject): Promise<number> {
    const state = await subject.failures.get(subject.key);
    return state && state.consumedPoints > subject.failuresMax ? state.msBeforeNext : 0;
  }

  return {
    /**
     * Refuses with RATE_LIMITED while the account or the address is locked; otherwise counts the attempt as a
     * failure at once, so that guesses sent in parallel are counted before any of them is answered.
     */
    async begin(email: string, address: string): Promise<SignInAttempt> {
      const subjects: Subject[] = [
        { key: accountKey(email), failures: failures.account, lockouts: lockouts.account, failuresMax: limits.failuresPerAccountMax, resetOnSuccess: true },
        { key: address, failures: failures.address, lockouts: lockouts.address, failuresMax: limits.failuresPerAddressMax, resetOnSuccess: false },
      ];
      for (const subject of subjects) {
        const waitMs = await lockedForMs(subject);
        if (waitMs > 0) throw rateLimited(LOCKED_MESSAGE, waitMs);
      }
      const counts = await Promise.all(subjects.map(async (subject) => (await subject.failures.penalty(subject.key, 1)).consumedPoints));
      // More sign-ins in flight than failures allowed: this one waits for their answers (which lock or clear the
      // subject) and is not counted. A person never gets here; parallel guessing does, and gains nothing.
      if (subjects.some((subject, index) => (counts[index] ?? 0) > subject.failuresMax)) {
        await Promise.all(subjects.map((subject) => subject.failures.reward(subject.key, 1)));
        throw rateLimited(LOCKED_MESSAGE, IN_FLIGHT_RETRY_MS);
      }
      return {
        async finish(outcome) {
          if (outcome === 'failed') {
            await Promise.all(subjects.filter((subject, index) => (counts[index] ?? 0) >= subject.failuresMax).map(lockOut));
            return;
          }
          await Promise.all(
            subjects.map((subject) =>
              outcome === 'succeeded' && subject.resetOnSuccess
                ? Promise.all([subject.failures.delete(subject.key), subject.lockouts.delete(subject.key)])
                : subject.failures.reward(subject.key, 1),
            ),
          );
        },
      };
    },
  };
}

/**
 * The account as the user subgraph finds it (case-insensitive email), hashed: the gateway's table holds no email
 * addresses, and an unknown email is locked exactly like a known one.
 */
function accountKey(email: string): string {
  return createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
}
