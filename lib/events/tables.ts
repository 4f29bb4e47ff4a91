import { sql } from 'drizzle-orm';
import { bigserial, index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every service's outbox: events written in the same SQL transaction as the change they describe, and
 * published by the relay afterwards. `seq` gives the publish order; `id` is the event id consumers dedupe on.
 * Each service's db/schema.ts re-exports this table so drizzle-kit puts it in that service's migrations.
 */
export const outbox = pgTable(
  'outbox',
  {
    seq: bigserial('seq', { mode: 'bigint' }).primaryKey(),
    id: uuid('id').notNull().unique(),
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    envelope: jsonb('envelope').notNull(),
    /** The request that wrote the event (x-request-id), published as a Kafka header; null for background work. */
    requestId: text('request_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (table) => [index('outbox_unsent_idx').on(table.seq).where(sql`${table.sentAt} is null`)],
);

/** Event ids a consumer has applied, stored in the same SQL transaction as the effect, so a redelivery changes nothing. */
export const processedEvents = pgTable(
  'processed_events',
  {
    consumer: text('consumer').notNull(),
    eventId: uuid('event_id').notNull(),
    processedAt: timestamp('processed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.consumer, table.eventId] })],
);
