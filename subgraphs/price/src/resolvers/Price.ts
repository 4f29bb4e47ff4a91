import { trimDecimal } from '../../../../lib/decimal.js';
import type { PriceResolvers, QuoteCurrency } from '../generated/resolvers-types.js';
import type { PriceServiceDeps } from '../deps.js';
import type { PriceValue } from '../prices/price-value.js';

/** The API's names of the sources (the database's are lower case). */
const SOURCE_NAMES = { coingecko: 'COINGECKO', simulated: 'SIMULATED' } as const;
const QUOTE_CURRENCIES: readonly QuoteCurrency[] = ['USD'];

function quoteCurrencyOf(price: PriceValue): QuoteCurrency {
  const text = price.vsCurrency ?? price.vs;
  const currency = QUOTE_CURRENCIES.find((candidate) => candidate === text);
  // Only the poller stores prices, and only in these currencies: anything else is a bug.
  if (!currency) throw new Error(`a ${price.symbol} price in an unknown quote currency: ${String(text)}`);
  return currency;
}

export const priceResolvers = (deps: PriceServiceDeps): PriceResolvers => ({
  vs: (price) => quoteCurrencyOf(price),
  value: (price) => trimDecimal(price.value),
  source: (price) => SOURCE_NAMES[price.source],
  observedAt: (price) => new Date(price.observedAt),
  stale: (price) => Date.now() - new Date(price.observedAt).getTime() > deps.staleAfterMs,
});
