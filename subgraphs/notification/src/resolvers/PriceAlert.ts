import { trimDecimal } from '../../../../lib/decimal.js';
import type { PriceAlertRow } from '../db/schema.js';

export const priceAlertResolvers = {
  threshold: (alert: PriceAlertRow) => trimDecimal(alert.threshold),
};
