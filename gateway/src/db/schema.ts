import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The gateway's rate-limit counters, shared by every gateway instance (rate-limiter-flexible's RateLimiterDrizzle
 * reads and writes it with one atomic upsert). Keys are `<limit>:<subject>`; a row whose `expire` has passed counts
 * as absent and is deleted by a sweep.
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull().default(0),
  expire: timestamp('expire', { withTimezone: true, mode: 'date' }),
});
