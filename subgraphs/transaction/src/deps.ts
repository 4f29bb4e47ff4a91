import type { ExpiringCache } from '../../../lib/auth/token-cache.js';
import type { LiveFeed } from '../../../lib/events/live-feed.js';
import type { InternalClient } from '../../../lib/internal-client.js';
import type { Logger } from '../../../lib/log.js';
import type { Currency } from '../../../lib/money.js';
import type { TransactionDb } from './db/database.js';

/** Development only: signed-in users may deposit USD and ETH to themselves, a little at a time and a day. */
export interface FaucetSettings {
  enabled: boolean;
  depositMaxMinor: Partial<Record<Currency, bigint>>;
  /** Per user, per currency, per UTC day; what is PENDING or COMPLETED counts. */
  dailyMaxMinor: Partial<Record<Currency, bigint>>;
}

/** What the workflows and their engine run with. */
export interface TransactionDeps {
  db: TransactionDb;
  log: Logger;
  /** The user subgraph, which owns balances and applies postings. */
  users: InternalClient;
  /** User ids the user subgraph has answered for lately (workflows/input-checks.ts). */
  knownUserIds: ExpiringCache<true>;
  /** The price subgraph, for signed quotes. */
  prices: InternalClient;
  /** The blockchain subgraph, which mints withdrawals. */
  blockchain: InternalClient;
  /** Verifies quotes signed by the price subgraph. */
  internalSecret: string;
  quoteTtlSeconds: number;
  /** Development only: signed-in users may deposit USD and ETH to themselves, up to these amounts per deposit and per day. */
  faucet: FaucetSettings;
}

/**
 * What `transactionUpdated` follows: the transactions' own status, and how far a retirement's certificate has
 * got on chain (the blockchain subgraph's RETIREMENT_CHAIN_STATUS), which changes the Transaction a client sees.
 */
export const TRANSACTION_FEED_TOPICS = ['transaction.status', 'blockchain.event'] as const;
export type TransactionFeedTopic = (typeof TRANSACTION_FEED_TOPICS)[number];

/** What the transaction subgraph's resolvers are built with: the workflows' dependencies and the live feed. */
export interface TransactionServiceDeps extends TransactionDeps {
  feed: LiveFeed<TransactionFeedTopic>;
}
