import { AppError, forbidden } from '../../../../lib/errors.js';
import { contractRoute } from '../../../../lib/internal-contract.js';
import { quoteCall, signQuote } from '../../../../lib/pricing/quote.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import { trimDecimal } from '../../../../lib/decimal.js';
import { latestPrice, type PriceDb } from './store.js';

/**
 * `POST /internal/quotes`: the latest price, signed, valid for `ttlSeconds`, for services that trade at it.
 * A stale or missing price is never quoted: trading on it would move money at a price nobody saw.
 */
export const quoteRoute = (options: { db: PriceDb; secret: string; ttlSeconds: number; staleAfterMs: number }): InternalRoute =>
  contractRoute(quoteCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service') throw forbidden('Quotes are for services only');
    },
    handle: async ({ body }) => {
      const { symbol, vs } = body;
      const price = await latestPrice(options.db, symbol, vs);
      const now = Date.now();
      if (!price || now - price.observedAt.getTime() > options.staleAfterMs) {
        throw new AppError('UPSTREAM_UNAVAILABLE', `No fresh ${symbol} price to quote; try again shortly`);
      }
      const quote = await signQuote(
        {
          symbol,
          vs,
          value: trimDecimal(price.value),
          source: price.source,
          observedAt: price.observedAt.toISOString(),
          quotedAt: new Date(now).toISOString(),
          expiresAt: new Date(now + options.ttlSeconds * 1000).toISOString(),
        },
        options.secret,
      );
      return { status: 200, body: quote };
    },
  });
