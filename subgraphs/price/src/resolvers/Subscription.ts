import { z } from 'zod';
import type { Envelope } from '../../../../lib/events/envelope.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import { PRICE_SYMBOLS } from '../sources/source.js';
import type { PriceServiceDeps } from './context.js';
import type { PriceValue } from './Price.js';

/** The fields of a `price.updated` event that Price's resolvers read (prices/store.ts makes it). */
const priceEventSchema = z.object({
  symbol: z.enum(PRICE_SYMBOLS),
  vs: z.string(),
  value: z.string(),
  source: z.enum(['coingecko', 'simulated']),
  observedAt: z.string(),
});

export const subscriptionResolvers = (deps: PriceServiceDeps): SubscriptionResolvers => ({
  priceUpdated: {
    subscribe: (_parent, { symbol, vs }) => deps.feed.subscribe((envelope) => envelope.data.symbol === symbol && envelope.data.vs === vs),
    // The event carries every field of Price; Price's resolvers shape it like a stored row.
    resolve: (envelope: Envelope): PriceValue => priceEventSchema.parse(envelope.data),
  },
});
