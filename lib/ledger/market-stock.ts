import { z } from 'zod';
import { internalCall } from '../internal-contract.js';

/**
 * The user subgraph's internal endpoint for the market desk's stock (`POST /internal/market/stock`, empty body):
 * how much CARBON the `market` account holds, the most a quote may offer. Shared by the user subgraph that owns
 * the wallets and the transaction subgraph that issues quotes, so no service reads another's tables.
 */
export const MARKET_STOCK_PATH = '/internal/market/stock';

export const marketStockSchema = z.object({
  /** The market account's CARBON balance in minor units (10^-18 tonnes), as a string. */
  carbonMinor: z.string().regex(/^(0|[1-9]\d{0,77})$/),
});
export type MarketStock = z.infer<typeof marketStockSchema>;

export const marketStockCall = internalCall(MARKET_STOCK_PATH, z.strictObject({}), marketStockSchema);
