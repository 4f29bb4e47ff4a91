import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import type { WorkflowDeps } from '../workflows/context.js';

/**
 * What `transactionUpdated` follows: the transactions' own status, and how far a retirement's certificate has
 * got on chain (the blockchain subgraph's RETIREMENT_CHAIN_STATUS), which changes the Transaction a client sees.
 */
export const TRANSACTION_FEED_TOPICS = ['transaction.status', 'blockchain.event'] as const;
export type TransactionFeedTopic = (typeof TRANSACTION_FEED_TOPICS)[number];

/** What the transaction subgraph's resolvers are built with. */
export interface TransactionServiceDeps extends WorkflowDeps {
  feed: LiveFeed<TransactionFeedTopic>;
}
