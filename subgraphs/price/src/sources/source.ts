export const PRICE_SYMBOLS = ['MCO2', 'ETH'] as const;
export type PriceSymbol = (typeof PRICE_SYMBOLS)[number];
export type QuoteCurrency = 'USD';
export type PriceSourceName = 'coingecko' | 'simulated';

/** One price as a source reported it; `value` is an exact decimal string with at most 18 decimals. */
export interface Observation {
  symbol: PriceSymbol;
  vs: QuoteCurrency;
  value: string;
  source: PriceSourceName;
  observedAt: Date;
}

/** A price as a source reported it, before our checks; a source hands these over, the poller checks them. */
export interface RawObservation {
  symbol: PriceSymbol;
  value: number;
  observedAtSeconds: number;
}

export interface PriceSource {
  readonly name: PriceSourceName;
  /** The latest price of each symbol; a symbol the source could not answer for is missing (and the reason logged). */
  latest(): Promise<Observation[]>;
  /** Past prices in [from, to], oldest first, for a first start with an empty history. */
  history(symbol: PriceSymbol, from: Date, to: Date): Promise<Observation[]>;
}
