import { z } from 'zod';
import { timestamp } from './fields.js';

const priceText = z.string().regex(/^(0|[1-9]\d{0,19})(\.\d{1,18})?$/, 'must be a decimal price like "0.85"');

/** `price.updated`, keyed by the symbol: the latest price of a symbol changed. */
export const priceUpdatedV1 = z.object({
  symbol: z.enum(['MCO2', 'ETH']),
  vs: z.literal('USD'),
  value: priceText,
  /** The latest value before this one; null for the first price ever stored. */
  previousValue: priceText.nullable(),
  source: z.enum(['coingecko', 'simulated']),
  observedAt: timestamp,
});
export type PriceUpdatedV1 = z.infer<typeof priceUpdatedV1>;
