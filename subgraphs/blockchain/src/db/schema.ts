import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, numeric, pgEnum, pgTable, serial, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export { outbox, processedEvents } from '../../../../lib/events/tables.js';
import type { IndexedLogData, RETIREMENT_CHAIN_STATUSES } from '../../../../lib/events/contracts/blockchain-event.js';

type RetirementChainStatus = (typeof RETIREMENT_CHAIN_STATUSES)[number];

/**
 * A user's custodial address: derived from the custody mnemonic at `address_index`, so the key itself is never
 * stored. Index 0 is the platform's operator and is never handed to a user (the serial starts at 1).
 */
export const custodyAccounts = pgTable(
  'custody_accounts',
  {
    userId: uuid('user_id').primaryKey(),
    addressIndex: serial('address_index').notNull().unique(),
    address: text('address').notNull().unique(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [check('custody_accounts_index_positive', sql`${table.addressIndex} > 0`)],
);

export const chainTransactionStatusEnum = pgEnum('chain_transaction_status', ['SUBMITTED', 'MINED', 'CONFIRMED', 'FAILED', 'REPLACED']);
export const chainTransactionKindEnum = pgEnum('chain_transaction_kind', [
  'GAS_FUNDING',
  'MINT',
  'TRANSFER',
  'APPROVE',
  'STAKE',
  'UNSTAKE',
  'CLAIM_REWARDS',
  'LINK_WALLET',
  'WITHDRAWAL',
  'RETIRE',
  'DEPOSIT_BURN',
]);

/**
 * Every transaction a custodial key signs. It is written SUBMITTED with its hash before it is broadcast, so a
 * crash after broadcasting still leaves it to the tracker. A transaction refused before signing (its estimate
 * reverted) is written FAILED with the revert reason and no hash or nonce.
 */
export const chainTransactions = pgTable(
  'chain_transactions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: chainTransactionKindEnum('kind').notNull(),
    userId: uuid('user_id'),
    /** The platform record it belongs to (a withdrawal, a retirement, a deposit): how a retry finds it was sent. */
    reference: uuid('reference'),
    signer: text('signer').notNull(),
    nonce: integer('nonce'),
    hash: text('hash').unique(),
    status: chainTransactionStatusEnum('status').notNull(),
    revertReason: text('revert_reason'),
    blockNumber: bigint('block_number', { mode: 'bigint' }),
    blockHash: text('block_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // The fence behind the per-signer lock (chain/sender.ts): two transactions that could both be on chain never
    // hold one nonce, so a send that would reuse a recorded nonce is refused before it is broadcast. A transaction
    // the node refused outright, or one that never reached it (FAILED), leaves its nonce to the next one; a REPLACED
    // one lost its nonce to another.
    uniqueIndex('chain_transactions_signer_nonce_idx')
      .on(table.signer, table.nonce)
      .where(sql`${table.nonce} is not null and ${table.status} not in ('FAILED', 'REPLACED')`),
    index('chain_transactions_open_idx').on(table.createdAt).where(sql`${table.status} in ('SUBMITTED', 'MINED')`),
    // desc().nullsFirst() is the order drizzle's desc() asks for; a bare .desc() makes DESC NULLS LAST, which
    // PostgreSQL cannot read in that order, so it sorted the user's rows (or the table) instead.
    index('chain_transactions_user_idx').on(table.userId, table.createdAt.desc().nullsFirst()),
    index('chain_transactions_reference_idx').on(table.reference, table.createdAt),
  ],
);

/** How far the indexer has read each contract: the last block fully indexed and its hash, to notice a reorg. */
export const indexerCursor = pgTable('indexer_cursor', {
  contract: text('contract').primaryKey(),
  lastBlock: bigint('last_block', { mode: 'bigint' }).notNull(),
  lastBlockHash: text('last_block_hash').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Contract events read by the indexer, once each; a reorg deletes the ones above the common ancestor. */
export const chainEvents = pgTable(
  'chain_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    contract: text('contract').notNull(),
    kind: text('kind').notNull(),
    txHash: text('tx_hash').notNull(),
    logIndex: integer('log_index').notNull(),
    blockNumber: bigint('block_number', { mode: 'bigint' }).notNull(),
    blockHash: text('block_hash').notNull(),
    /** The key of its envelope: a user id when the address is custodial, else the address. */
    key: text('key').notNull(),
    amount: numeric('amount', { precision: 78, scale: 0 }),
    data: jsonb('data').$type<IndexedLogData>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('chain_events_log_idx').on(table.txHash, table.logIndex),
    index('chain_events_block_idx').on(table.contract, table.blockNumber),
  ],
);

/** A Sign-In with Ethereum challenge: one nonce for one user and address, used once, before it expires. */
export const walletLinkChallenges = pgTable('wallet_link_challenges', {
  nonce: text('nonce').primaryKey(),
  userId: uuid('user_id').notNull(),
  address: text('address').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A wallet its owner proved to hold (SIWE), linked to their platform account in CarbonAccount. */
export const linkedWallets = pgTable(
  'linked_wallets',
  {
    address: text('address').primaryKey(),
    userId: uuid('user_id').notNull(),
    chainTransactionId: uuid('chain_transaction_id').notNull(),
    linkedAt: timestamp('linked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('linked_wallets_user_idx').on(table.userId)],
);

/**
 * Ledger CARBON leaving the platform as MCO2 minted to an address. The id is the transaction subgraph's
 * WITHDRAWAL transaction id, so asking again never mints twice; its mint carries the id as `reference`.
 * `failure_code` is set only when it failed before anything was signed (the node did not answer).
 */
export const withdrawals = pgTable('withdrawals', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id').notNull(),
  toAddress: text('to_address').notNull(),
  amount: numeric('amount', { precision: 78, scale: 0 }).notNull(),
  failureCode: text('failure_code'),
  failureMessage: text('failure_message'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A retirement on the ledger recorded on chain: the operator mints the tonnes to itself and retires them with
 * the certificate's beneficiary and message (CarbonToken.retire). The id is the transaction subgraph's retirement id.
 */
export const chainRetirements = pgTable(
  'chain_retirements',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    amount: numeric('amount', { precision: 78, scale: 0 }).notNull(),
    beneficiary: text('beneficiary').notNull(),
    message: text('message'),
    /** The certificate number CarbonToken gave it (its Retired event's id); null until the retire call is mined. */
    certificateId: numeric('certificate_id', { precision: 78, scale: 0 }),
    retireTransactionId: uuid('retire_transaction_id'),
    /** Set when the chain side gave up (a send failed too often); the ledger retirement stands. */
    failureMessage: text('failure_message'),
    /**
     * The chain status last told in a RETIREMENT_CHAIN_STATUS event (null: none yet, QUEUED). The recorder
     * follows a retirement until it has told CONFIRMED or FAILED, so every change is told once.
     */
    announcedChainStatus: text('announced_chain_status').$type<RetirementChainStatus>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('chain_retirements_untold_idx')
      .on(table.createdAt)
      .where(sql`${table.announcedChainStatus} is null or ${table.announcedChainStatus} not in ('CONFIRMED', 'FAILED')`),
  ],
);

/**
 * MCO2 that arrived at a custodial address from outside, taken into the ledger: the tokens are burned from the
 * custodial address, and once the burn is mined the user's ledger CARBON is credited (by the transaction
 * subgraph, from the CARBON_DEPOSIT event), so a tonne is never both on chain and on the ledger.
 */
export const deposits = pgTable(
  'deposits',
  {
    /** The incoming transfer's chain_events row: one deposit per log. */
    chainEventId: uuid('chain_event_id').primaryKey(),
    id: uuid('id').notNull().unique().defaultRandom(),
    userId: uuid('user_id').notNull(),
    amount: numeric('amount', { precision: 78, scale: 0 }).notNull(),
    txHash: text('tx_hash').notNull(),
    status: text('status', { enum: ['BURNING', 'CREDITED', 'FAILED'] }).notNull().default('BURNING'),
    failureMessage: text('failure_message'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('deposits_burning_idx').on(table.createdAt).where(sql`${table.status} = 'BURNING'`)],
);

export type ChainRetirementRow = typeof chainRetirements.$inferSelect;
export type DepositRow = typeof deposits.$inferSelect;
export type ChainTransactionRow = typeof chainTransactions.$inferSelect;
export type ChainTransactionKind = (typeof chainTransactionKindEnum.enumValues)[number];
export type CustodyAccountRow = typeof custodyAccounts.$inferSelect;
