import { notFound } from '../../../../lib/errors.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { priceCandles } from '../prices/candles.js';
import { convertAmount } from '../prices/convert.js';
import { latestPrice } from '../prices/store.js';
import type { PriceServiceDeps } from '../deps.js';

export const queryResolvers = (deps: PriceServiceDeps): QueryResolvers => ({
  async price(_parent, { symbol, vs }) {
    const price = await latestPrice(deps.db, symbol, vs);
    if (!price) throw notFound(`No ${symbol} price has been observed yet; try again in a moment`);
    return price;
  },
  priceHistory(_parent, args) {
    return priceCandles(deps.db, { symbol: args.symbol, vs: args.vs, from: args.from, to: args.to ?? new Date(), interval: args.interval });
  },
  convert(_parent, { amount, from, to }) {
    return convertAmount(deps.db, amount, from, to, new Date());
  },
});
