import { fileURLToPath } from 'node:url';
import { lt } from 'drizzle-orm';
import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { connectDatabase, DEFAULT_DATABASE_LIMITS, runMigrations } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { startPeriodic } from '../../lib/server/periodic.js';
import * as schema from './db/schema.js';

/** Few connections: each limit is one short upsert, and the pool is the gateway's only use of PostgreSQL. */
const POOL_SIZE_MAX = 5;
/** A statement this slow means the store is in trouble; the in-memory insurance answers sooner anyway. */
const STATEMENT_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_SECONDS = 2;
/** Expired counters are deleted this often, an hour after they expired (the library's own sweep, done once per process). */
const SWEEP_INTERVAL_MS = 5 * 60_000;
const SWEEP_AFTER_EXPIRY_MS = 3_600_000;

/** A counter in PostgreSQL, answered from this process's memory when PostgreSQL fails or is slower than the time-out. */
export type SharedLimiter = RLWrapperTimeouts;

export interface RateLimitStore {
  /** A fixed-window counter of `points` per `durationSeconds` under `name` (the key prefix of its rows). */
  limiter(name: string, points: number, durationSeconds: number): SharedLimiter;
  stop(): Promise<void>;
}

/**
 * The gateway's PostgreSQL: one table of counters written by rate-limiter-flexible's RateLimiterDrizzle, through the
 * same drizzle + postgres.js as every service (no second driver). Each limiter is insured by a RateLimiterMemory of
 * the same size, so an outage turns a shared limit into a per-instance one instead of failing every request or
 * letting every request through.
 */
export async function openRateLimitStore(url: string, options: { storeTimeoutMs: number; log: Logger }): Promise<RateLimitStore> {
  await runMigrations(url, fileURLToPath(new URL('./db/migrations', import.meta.url)));
  const database = connectDatabase(url, schema, {
    ...DEFAULT_DATABASE_LIMITS,
    poolSizeMax: POOL_SIZE_MAX,
    connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
    statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: STATEMENT_TIMEOUT_MS,
  });
  // Every gateway instance sweeps, unclaimed: deleting expired counters is idempotent, so two sweeps at once
  // delete each row once.
  const sweep = startPeriodic({
    what: 'rate-limit sweep',
    intervalMs: SWEEP_INTERVAL_MS,
    log: options.log,
    pass: async () => {
      await database.db.delete(schema.rateLimits).where(lt(schema.rateLimits.expire, new Date(Date.now() - SWEEP_AFTER_EXPIRY_MS)));
    },
  });
  return {
    limiter(name, points, durationSeconds) {
      const insuranceLimiter = new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds });
      const stored = new RateLimiterDrizzle({
        storeClient: database.db,
        schema: schema.rateLimits,
        keyPrefix: name,
        points,
        duration: durationSeconds,
        // Each instance would start a timer of its own that outlives the pool; the sweep above does it once.
        clearExpiredByTimeout: false,
        insuranceLimiter,
      });
      return new RLWrapperTimeouts({ limiter: stored, timeoutMs: options.storeTimeoutMs, insuranceLimiter });
    },
    async stop() {
      await sweep.stop();
      await database.close();
    },
  };
}

/** RATE_LIMITED with the seconds to wait, in `extensions.retryAfterSeconds` (and, over HTTP, in Retry-After). */
export function rateLimited(message: string, msBeforeNext: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError('RATE_LIMITED', `${message}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

/** Takes `points` from `key`, or refuses with RATE_LIMITED; a failure of both store and insurance is a bug. */
export async function take(limiter: SharedLimiter, key: string, points: number, message: string): Promise<void> {
  try {
    await limiter.consume(key, points);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) throw rateLimited(message, rejection.msBeforeNext);
    throw rejection;
  }
}
