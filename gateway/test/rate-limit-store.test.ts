import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { silentLogger } from '../../lib/log.js';
import { createTestDatabase } from '../../test/support/database.js';
import { waitFor } from '../../test/support/wait.js';
import { openRateLimitStore, type RateLimitStore, take } from '../src/rate-limit-store.js';

const STORE_TIMEOUT_MS = 300;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let store: RateLimitStore;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase('gateway_store');
  store = await openRateLimitStore(database.url, { storeTimeoutMs: STORE_TIMEOUT_MS, log: silentLogger });
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await store?.stop();
  await database?.drop();
});

const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('the rate-limit store', () => {
  it('keeps its counts in PostgreSQL, where another instance sees them', async () => {
    const other = await openRateLimitStore(database.url, { storeTimeoutMs: STORE_TIMEOUT_MS, log: silentLogger });
    try {
      await take(store.limiter('shared', 2, 60), 'k', 1, 'shared');
      await take(other.limiter('shared', 2, 60), 'k', 1, 'shared');
      const error = await refusal(take(store.limiter('shared', 2, 60), 'k', 1, 'Too many'));
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe('RATE_LIMITED');
      expect((error as AppError).extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(await sql`select key, points from rate_limits where key = 'shared:k'`).toEqual([{ key: 'shared:k', points: 3 }]);
    } finally {
      await other.stop();
    }
  });

  it('counts in memory when PostgreSQL is slower than the time-out, neither letting everything through nor refusing it', async () => {
    const limiter = store.limiter('slow', 2, 60);
    // Another session holds the table until told: every upsert waits behind it.
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding = sql.begin(async (tx) => {
      await tx`lock table rate_limits in access exclusive mode`;
      await released;
    });
    await waitFor(async () => (await sql`select 1 from pg_locks where relation = 'rate_limits'::regclass and mode = 'AccessExclusiveLock' and granted`).length > 0, {
      timeoutMs: 5_000,
      message: 'the table lock',
    });
    const startedMs = performance.now();
    await take(limiter, 'k', 1, 'slow');
    await take(limiter, 'k', 1, 'slow');
    const error = await refusal(take(limiter, 'k', 1, 'Too many'));
    const elapsedMs = performance.now() - startedMs;
    expect((error as AppError).code).toBe('RATE_LIMITED');
    // Three answers, each after at most the time-out (and some slack for a busy machine).
    expect(elapsedMs).toBeLessThan(3 * STORE_TIMEOUT_MS + 600);
    release();
    await holding;
  });

  it('counts in memory when PostgreSQL answers with errors', async () => {
    const limiter = store.limiter('broken', 1, 60);
    await sql`alter table rate_limits rename to rate_limits_away`;
    try {
      await take(limiter, 'k', 1, 'broken');
      expect(((await refusal(take(limiter, 'k', 1, 'Too many'))) as AppError).code).toBe('RATE_LIMITED');
    } finally {
      await sql`alter table rate_limits_away rename to rate_limits`;
    }
  });
});
