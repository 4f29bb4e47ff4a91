import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import type { WorkflowDeps } from '../workflows/context.js';

/** What the transaction subgraph's resolvers are built with. */
export interface TransactionServiceDeps extends WorkflowDeps {
  feed: LiveFeed;
}
