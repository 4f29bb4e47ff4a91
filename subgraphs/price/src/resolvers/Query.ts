import { notFound } from '../../../../lib/errors.js';
import type { Currency } from '../../../../lib/money.js';
import { type CandleInterval, priceCandles } from '../prices/candles.js';
import { convertAmount } from '../prices/convert.js';
import { latestPrice } from '../prices/store.js';
import type { PriceSymbol, QuoteCurrency } from '../sources/source.js';
import type { PriceServiceDeps } from './context.js';

export const queryResolvers = (deps: PriceServiceDeps) => ({
  async price(_parent: unknown, { symbol, vs }: { symbol: PriceSymbol; vs: QuoteCurrency }) {
    const price = await latestPrice(deps.db, symbol, vs);
    if (!price) throw notFound(`No ${symbol} price has been observed yet; try again in a moment`);
    return price;
  },
  priceHistory(_parent: unknown, args: { symbol: PriceSymbol; vs: QuoteCurrency; from: Date; to?: Date | null; interval: CandleInterval }) {
    return priceCandles(deps.db, { symbol: args.symbol, vs: args.vs, from: args.from, to: args.to ?? new Date(), interval: args.interval });
  },
  convert(_parent: unknown, { amount, from, to }: { amount: string; from: Currency; to: Currency }) {
    return convertAmount(deps.db, amount, from, to, new Date());
  },
});
