import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, numeric, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { PostingRequest } from '../../../../lib/ledger/posting.js';

export { outbox, processedEvents } from '../../../../lib/events/tables.js';

export const currencyEnum = pgEnum('currency', ['USD', 'ETH', 'CARBON']);
export const transactionTypeEnum = pgEnum('transaction_type', ['DEPOSIT', 'TRANSFER', 'PAYMENT', 'PURCHASE', 'RETIREMENT', 'MARKET_SUPPLY', 'WITHDRAWAL']);
export const transactionStatusEnum = pgEnum('transaction_status', ['PENDING', 'COMPLETED', 'FAILED']);

export interface TransactionDetails {
  /** Retirements: the certificate's text. */
  beneficiary?: string;
  message?: string | null;
  /** Withdrawals: the mint's hash on chain, once it was sent. */
  txHash?: string | null;
  /** Deposits of MCO2 received on chain: the blockchain subgraph's deposit and the transfer that brought it. */
  chainDeposit?: { depositId: string; txHash: string };
}

const amount = (name: string) => numeric(name, { precision: 78, scale: 0 });

/**
 * One row per business transaction. It is written PENDING with the exact posting it will ask the user
 * subgraph to apply (same id), so a crash at any point can be finished by re-applying that posting.
 */
export const transactions = pgTable(
  'transactions',
  {
    id: uuid('id').primaryKey(),
    type: transactionTypeEnum('type').notNull(),
    status: transactionStatusEnum('status').notNull().default('PENDING'),
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
    /** Who asked: the idempotency key is theirs alone. */
    initiatorId: uuid('initiator_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    fromUserId: uuid('from_user_id'),
    toUserId: uuid('to_user_id'),
    currency: currencyEnum('currency').notNull(),
    amount: amount('amount').notNull(),
    memo: text('memo'),
    reference: text('reference'),
    posting: jsonb('posting').$type<PostingRequest>().notNull(),
    /** What a completed workflow still has to record (a retirement's beneficiary and message). */
    details: jsonb('details').$type<TransactionDetails>(),
    /** Purchases: the quote used, its price, and both legs. */
    quoteId: uuid('quote_id'),
    pricePerTonne: numeric('price_per_tonne', { precision: 38, scale: 18 }),
    priceSource: text('price_source'),
    usdAmount: amount('usd_amount'),
    carbonAmount: amount('carbon_amount'),
    /** Withdrawals: where the MCO2 goes, and the blockchain subgraph's mint once it is sent. */
    toAddress: text('to_address'),
    chainTransactionId: uuid('chain_transaction_id'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** Milliseconds, like the page cursors made from it: no row can hide between two pages. */
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('transactions_idempotency_idx').on(table.initiatorId, table.idempotencyKey),
    // A quote buys once.
    uniqueIndex('transactions_quote_idx').on(table.quoteId),
    // desc().nullsFirst() is the order drizzle's desc() asks for; a bare .desc() makes DESC NULLS LAST, which
    // PostgreSQL cannot read in that order, so it sorted the user's rows (or the table) instead.
    index('transactions_from_idx').on(table.fromUserId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index('transactions_to_idx').on(table.toUserId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index('transactions_initiator_idx').on(table.initiatorId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index('transactions_pending_idx').on(table.nextAttemptAt).where(sql`${table.status} = 'PENDING'`),
    check('transactions_amount_positive', sql`${table.amount} > 0`),
  ],
);

/** A price for carbon credits given to one user, valid until it expires. */
export const quotes = pgTable('quotes', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  carbonAmount: amount('carbon_amount').notNull(),
  usdAmount: amount('usd_amount').notNull(),
  pricePerTonne: numeric('price_per_tonne', { precision: 38, scale: 18 }).notNull(),
  priceSource: text('price_source').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A completed retirement: the certificate's content. Its on-chain record belongs to the blockchain subgraph. */
export const retirements = pgTable(
  'retirements',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    amount: amount('amount').notNull(),
    beneficiary: text('beneficiary').notNull(),
    message: text('message'),
    retiredAt: timestamp('retired_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [index('retirements_user_idx').on(table.userId, table.retiredAt.desc().nullsFirst(), table.id.desc().nullsFirst())],
);

/**
 * Per user, the sequence number of their latest `transaction_feed` entry. A new entry takes the next number
 * with an upsert whose row lock is held until commit, so one user's entries commit in sequence order: a reader
 * that has seen entry N can never later find a committed N-1. Never deleted, so numbers only grow.
 */
export const transactionFeedHeads = pgTable('transaction_feed_heads', {
  userId: uuid('user_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
});

/** One change of a transaction's status, once per party who may see it, numbered per user: what `transactionFeed` replays. */
export const transactionFeed = pgTable(
  'transaction_feed',
  {
    userId: uuid('user_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    transactionId: uuid('transaction_id').notNull(),
    status: transactionStatusEnum('status').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.seq] }), index('transaction_feed_created_idx').on(table.createdAt)],
);

export type TransactionRow = typeof transactions.$inferSelect;
export type QuoteRow = typeof quotes.$inferSelect;
export type RetirementRow = typeof retirements.$inferSelect;
