import { sql } from 'drizzle-orm';
import { bigserial, check, index, numeric, pgEnum, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export { outbox, processedEvents } from '../../../../lib/events/tables.js';

export const priceSymbolEnum = pgEnum('price_symbol', ['MCO2', 'ETH']);
export const priceSourceEnum = pgEnum('price_source', ['coingecko', 'simulated']);

/** Every observation of a price, as its source reported it. */
export const prices = pgTable(
  'prices',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    symbol: priceSymbolEnum('symbol').notNull(),
    vsCurrency: text('vs_currency').notNull(),
    /** 18 decimals: as precise as the token itself, exact in SQL and in code (bigint). */
    value: numeric('value', { precision: 38, scale: 18 }).notNull(),
    source: priceSourceEnum('source').notNull(),
    observedAt: timestamp('observed_at', { withTimezone: true }).notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // The same observation polled twice is stored once.
    uniqueIndex('prices_observation_idx').on(table.symbol, table.vsCurrency, table.source, table.observedAt),
    // desc().nullsFirst() is the order drizzle's desc() asks for; a bare .desc() makes DESC NULLS LAST, which
    // PostgreSQL cannot read in that order, so it sorted the user's rows (or the table) instead.
    index('prices_latest_idx').on(table.symbol, table.vsCurrency, table.observedAt.desc().nullsFirst()),
    check('prices_value_positive', sql`${table.value} > 0`),
  ],
);

export type PriceRow = typeof prices.$inferSelect;

/**
 * When the source was last asked, one row per source: every instance polls, and the one whose claim moves
 * `polled_at` asks the source, so the source is asked once per interval however many instances run.
 */
export const pricePolls = pgTable('price_polls', {
  source: priceSourceEnum('source').primaryKey(),
  polledAt: timestamp('polled_at', { withTimezone: true }).notNull(),
});
