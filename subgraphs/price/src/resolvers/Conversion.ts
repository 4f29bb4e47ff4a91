import { scaledToDecimal } from '../../../../lib/decimal.js';
import type { ConversionResolvers } from '../generated/resolvers-types.js';
import type { PriceServiceDeps } from '../deps.js';

export const conversionResolvers = (deps: PriceServiceDeps): ConversionResolvers => ({
  rate: (conversion) => scaledToDecimal(conversion.rateScaled),
  stale: (conversion) => Date.now() - conversion.observedAt.getTime() > deps.staleAfterMs,
});
