import { trimDecimal } from '../../../../lib/decimal.js';
import type { PriceAlertResolvers } from '../generated/resolvers-types.js';

export const priceAlertResolvers: PriceAlertResolvers = {
  threshold: (alert) => trimDecimal(alert.threshold),
};
