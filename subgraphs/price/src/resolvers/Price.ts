import type { PriceRow } from '../db/schema.js';
import { trimDecimal } from '../../../../lib/decimal.js';
import type { PriceServiceDeps } from './context.js';

/** A stored row (queries) or the data of a `price.updated` event (subscriptions): the same fields. */
export type PriceValue = Pick<PriceRow, 'symbol' | 'value' | 'source' | 'observedAt'> & { vsCurrency?: string; vs?: string };

export const priceResolvers = (deps: PriceServiceDeps) => ({
  vs: (price: PriceValue) => price.vsCurrency ?? price.vs,
  value: (price: PriceValue) => trimDecimal(price.value),
  source: (price: PriceValue) => price.source.toUpperCase(),
  observedAt: (price: PriceValue) => new Date(price.observedAt),
  stale: (price: PriceValue) => Date.now() - new Date(price.observedAt).getTime() > deps.staleAfterMs,
});
