import type { LiveFeed } from '../../../lib/events/live-feed.js';
import type { PriceDb } from './prices/store.js';

/** What the price subgraph's code runs on, made once at start: the resolvers and the domain code take it, apart from the GraphQL context. */
export interface PriceServiceDeps {
  db: PriceDb;
  feed: LiveFeed<'price.updated'>;
  staleAfterMs: number;
}
