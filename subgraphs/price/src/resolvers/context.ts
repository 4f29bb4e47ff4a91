import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import type { PriceDb } from '../prices/store.js';

/** What the price subgraph's resolvers are built with. */
export interface PriceServiceDeps {
  db: PriceDb;
  feed: LiveFeed<'price.updated'>;
  staleAfterMs: number;
}
