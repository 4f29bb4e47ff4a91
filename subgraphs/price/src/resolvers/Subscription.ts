import type { Event } from '../../../../lib/events/contracts/index.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import type { PriceServiceDeps } from '../deps.js';
import type { PriceValue } from '../prices/price-value.js';

export const subscriptionResolvers = (deps: PriceServiceDeps): SubscriptionResolvers => ({
  priceUpdated: {
    subscribe: (_parent, { symbol, vs }) => deps.feed.subscribe((event) => event.data.symbol === symbol && event.data.vs === vs),
    // The event carries every field of Price; Price's resolvers shape it like a stored row.
    resolve: (event: Event<'price.updated'>): PriceValue => event.data,
  },
});
