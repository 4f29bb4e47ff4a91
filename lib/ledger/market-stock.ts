/**
 * The user subgraph's internal endpoint for the market desk's stock (`POST /internal/market/stock`, empty body):
 * how much CARBON the `market` account holds, the most a quote may offer. Shared by the user subgraph that owns
 * the wallets and the transaction subgraph that issues quotes, so no service reads another's tables.
 */
export const MARKET_STOCK_PATH = '/internal/market/stock';

export interface MarketStock {
  /** The market account's CARBON balance in minor units (10^-18 tonnes), as a string. */
  carbonMinor: string;
}
