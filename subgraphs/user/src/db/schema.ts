import { sql } from 'drizzle-orm';
import { check, index, numeric, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export { outbox, processedEvents } from '../../../../lib/events/tables.js';

export const roleEnum = pgEnum('role', ['BUYER', 'SELLER', 'ADMIN']);
export const currencyEnum = pgEnum('currency', ['USD', 'ETH', 'CARBON']);
/** Accounts that make every posting balance: money entering/leaving the platform, the market counterparty, retired carbon. */
export const systemAccountEnum = pgEnum('system_account', ['external', 'market', 'retired']);

/** Amounts in minor units: numeric(78,0) holds any uint256, and bigint in code. */
const amount = (name: string) => numeric(name, { precision: 78, scale: 0 });

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    displayName: text('display_name').notNull(),
    role: roleEnum('role').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // Emails are unique whatever their case: stored as given, compared lower-cased.
  (table) => [uniqueIndex('users_email_lower_idx').on(sql`lower(${table.email})`)],
);

export const wallets = pgTable(
  'wallets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').references(() => users.id),
    systemAccount: systemAccountEnum('system_account'),
    currency: currencyEnum('currency').notNull(),
    balance: amount('balance').notNull().default('0'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('wallets_user_currency_idx').on(table.userId, table.currency),
    uniqueIndex('wallets_system_currency_idx').on(table.systemAccount, table.currency),
    check('wallets_exactly_one_owner', sql`(${table.userId} is null) <> (${table.systemAccount} is null)`),
    // The last line of defence behind the posting code: only money entering or leaving the platform may go negative.
    check('wallets_balance_not_negative', sql`${table.balance} >= 0 or ${table.systemAccount} is not distinct from 'external'`),
  ],
);

/** One row per business transaction; its id is the transaction's id, which makes applying it idempotent. */
export const postings = pgTable('postings', {
  id: uuid('id').primaryKey(),
  kind: text('kind').notNull(),
  /** Hash of the request, so the same id with different entries is refused rather than silently ignored. */
  requestHash: text('request_hash').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const postingEntries = pgTable(
  'posting_entries',
  {
    postingId: uuid('posting_id')
      .notNull()
      .references(() => postings.id),
    walletId: uuid('wallet_id')
      .notNull()
      .references(() => wallets.id),
    currency: currencyEnum('currency').notNull(),
    /** Signed: credits positive, debits negative; the entries of a posting sum to zero per currency. */
    amount: amount('amount').notNull(),
    balanceAfter: amount('balance_after').notNull(),
  },
  (table) => [primaryKey({ columns: [table.postingId, table.walletId] }), index('posting_entries_wallet_idx').on(table.walletId)],
);

export type UserRow = typeof users.$inferSelect;
export type WalletRow = typeof wallets.$inferSelect;
