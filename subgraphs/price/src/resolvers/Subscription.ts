import type { Envelope } from '../../../../lib/events/envelope.js';
import type { PriceSymbol, QuoteCurrency } from '../sources/source.js';
import type { PriceServiceDeps } from './context.js';

export const subscriptionResolvers = (deps: PriceServiceDeps) => ({
  priceUpdated: {
    subscribe: (_parent: unknown, { symbol, vs }: { symbol: PriceSymbol; vs: QuoteCurrency }) =>
      deps.feed.subscribe((envelope) => envelope.data.symbol === symbol && envelope.data.vs === vs),
    // The event carries every field of Price; Price's resolvers shape it like a stored row.
    resolve: (envelope: Envelope) => envelope.data,
  },
});
