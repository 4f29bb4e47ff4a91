import { scaledToDecimal } from '../../../../lib/decimal.js';
import type { Conversion } from '../prices/convert.js';
import type { PriceServiceDeps } from './context.js';

export const conversionResolvers = (deps: PriceServiceDeps) => ({
  rate: (conversion: Conversion) => scaledToDecimal(conversion.rateScaled),
  stale: (conversion: Conversion) => Date.now() - conversion.observedAt.getTime() > deps.staleAfterMs,
});
