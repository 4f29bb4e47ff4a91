import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, numeric, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export { outbox, processedEvents } from '../../../../lib/events/tables.js';

export const notificationKindEnum = pgEnum('notification_kind', ['FUNDS_RECEIVED', 'TRANSACTION_COMPLETED', 'TRANSACTION_FAILED', 'WALLET_EMPTY', 'PRICE_ALERT', 'BLOCKCHAIN']);
export const priceSymbolEnum = pgEnum('price_symbol', ['MCO2', 'ETH']);
export const alertDirectionEnum = pgEnum('price_alert_direction', ['ABOVE', 'BELOW']);
export const deliveryStatusEnum = pgEnum('webhook_delivery_status', ['PENDING', 'DELIVERED', 'FAILED']);

/**
 * Millisecond precision, which a JavaScript Date holds exactly: a page cursor made from a row's time then
 * compares equal to the row, so no row of the same millisecond is skipped between pages.
 */
const createdAt = () => timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow();

/** One notification for one user; every read filters on `user_id`. */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    kind: notificationKindEnum('kind').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    /** The transaction it is about, for `Notification.transaction`. */
    transactionId: uuid('transaction_id'),
    createdAt: createdAt(),
    readAt: timestamp('read_at', { withTimezone: true }),
  },
  (table) => [
    // desc().nullsFirst() is the order drizzle's desc() asks for; a bare .desc() makes DESC NULLS LAST, which
    // PostgreSQL cannot read in that order, so it sorted the user's rows (or the table) instead.
    index('notifications_user_idx').on(table.userId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    // The unread page and the unread count both read only this.
    index('notifications_unread_idx').on(table.userId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()).where(sql`${table.readAt} is null`),
    index('notifications_created_idx').on(table.createdAt),
  ],
);

/** Fires once per crossing of `threshold` in `direction` (see alerts/price-alerts.ts). */
export const priceAlerts = pgTable(
  'price_alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull(),
    symbol: priceSymbolEnum('symbol').notNull(),
    direction: alertDirectionEnum('direction').notNull(),
    /** USD per unit of `symbol`. */
    threshold: numeric('threshold', { precision: 38, scale: 18 }).notNull(),
    triggerCount: integer('trigger_count').notNull().default(0),
    lastTriggeredAt: timestamp('last_triggered_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [
    index('price_alerts_user_idx').on(table.userId, table.createdAt.desc().nullsFirst()),
    index('price_alerts_symbol_idx').on(table.symbol, table.threshold),
    check('price_alerts_threshold_positive', sql`${table.threshold} > 0`),
  ],
);

/** The secret is kept because every delivery is signed with it; the API shows it once, at registration. */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    url: text('url').notNull(),
    secret: text('secret').notNull(),
    createdAt: createdAt(),
  },
  (table) => [index('webhooks_user_idx').on(table.userId, table.createdAt.desc().nullsFirst())],
);

/**
 * The delivery outbox: one row per notification and webhook, written in the SQL transaction that creates the
 * notification, and sent by the webhook sender. `next_attempt_at` is also the sender's lease on a row it is sending.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    notificationId: uuid('notification_id')
      .notNull()
      .references(() => notifications.id, { onDelete: 'cascade' }),
    /** The exact JSON body, so every attempt sends (and signs) the same bytes. */
    body: text('body').notNull(),
    status: deliveryStatusEnum('status').notNull().default('PENDING'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    createdAt: createdAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (table) => [
    index('webhook_deliveries_due_idx').on(table.nextAttemptAt).where(sql`${table.status} = 'PENDING'`),
    index('webhook_deliveries_webhook_idx').on(table.webhookId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index('webhook_deliveries_notification_idx').on(table.notificationId),
  ],
);

/** Every attempt of a delivery: the receiver's status code, or why there was none. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true }).notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (table) => [uniqueIndex('webhook_attempts_number_idx').on(table.deliveryId, table.number)],
);

export type NotificationRow = typeof notifications.$inferSelect;
export type NotificationKind = NotificationRow['kind'];
export type PriceAlertRow = typeof priceAlerts.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
