import { availableParallelism } from 'node:os';
import bcrypt from 'bcryptjs';
import { Piscina } from 'piscina';
import { AppError } from '../errors.js';

/** bcrypt cost 10 (~60 ms here): costly enough to slow guessing, cheap enough for a login path. */
const BCRYPT_COST = 10;
/** bcrypt reads only the first 72 bytes; longer passwords are refused at input rather than silently truncated. */
export const PASSWORD_BYTES_MAX = 72;
export const PASSWORD_LENGTH_MIN = 10;

export interface PasswordHashingLimits {
  /** Worker threads that hash and verify passwords, so bcrypt never runs on the event loop. */
  threadsMax: number;
  /** Hashes waiting for a thread; past it a sign-in or registration is refused (RATE_LIMITED) rather than queued for ever. */
  queueMax: number;
}

/** Leaves a core for the event loop; more than four threads only lets a burst of sign-ins take more of the machine. */
export const DEFAULT_PASSWORD_HASHING_LIMITS: PasswordHashingLimits = { threadsMax: Math.max(1, Math.min(4, availableParallelism() - 1)), queueMax: 64 };
/** Idle threads end after this; the pool starts them again on demand (and never holds the process open). */
const THREAD_IDLE_TIMEOUT_MS = 60_000;
const BUSY_RETRY_AFTER_SECONDS = 1;

let limits = DEFAULT_PASSWORD_HASHING_LIMITS;
let pool: Piscina | undefined;

/** Sets the pool's limits (the user subgraph's config); takes effect when the pool is first used. */
export function configurePasswordHashing(next: PasswordHashingLimits): void {
  if (pool && (pool.options.maxThreads !== next.threadsMax || limits.queueMax !== next.queueMax)) {
    void pool.destroy();
    pool = undefined;
  }
  limits = next;
}

async function runInPool<Result>(task: { operation: 'hash'; password: string; cost: number } | { operation: 'verify'; password: string; hash: string }): Promise<Result> {
  pool ??= new Piscina({
    filename: new URL('./password-worker.mjs', import.meta.url).href,
    minThreads: 0,
    maxThreads: limits.threadsMax,
    idleTimeout: THREAD_IDLE_TIMEOUT_MS,
  });
  if (pool.queueSize >= limits.queueMax) {
    throw new AppError('RATE_LIMITED', `Too many sign-ins are being checked right now; try again in ${BUSY_RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
  }
  return pool.run(task) as Promise<Result>;
}

export const hashPassword = (password: string): Promise<string> => runInPool({ operation: 'hash', password, cost: BCRYPT_COST });
export const verifyPassword = (password: string, hash: string): Promise<boolean> => runInPool({ operation: 'verify', password, hash });

/**
 * A hash of a random password, compared against when the email is unknown, so that a wrong email and a
 * wrong password take the same time and give the same answer.
 */
export const UNKNOWN_USER_HASH = bcrypt.hashSync('unknown-user-placeholder-password', BCRYPT_COST);
