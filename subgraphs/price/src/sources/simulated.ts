import { PRICE_SYMBOLS, type Observation, type PriceSource, type PriceSymbol } from './source.js';
import { checkObservation } from './validate.js';

/** Where the walk starts: near the market, so amounts look real in `npm start`. */
const START_VALUE: Record<PriceSymbol, number> = { MCO2: 0.85, ETH: 3200 };
/** Volatility per step (log return standard deviation). */
const STEP_VOLATILITY: Record<PriceSymbol, number> = { MCO2: 0.004, ETH: 0.002 };
const HISTORY_STEP_MS = 5 * 60_000;

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same walk. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * A seeded random walk (geometric, so never zero or negative): the default where there is no network.
 * Its prices say `source: simulated` everywhere, so they are never mistaken for market prices.
 */
export class SimulatedSource implements PriceSource {
  readonly name = 'simulated' as const;
  readonly #random: () => number;
  readonly #values: Record<PriceSymbol, number>;
  readonly #now: () => number;
  #lastSeconds = 0;

  /** `startValues`: the last stored prices, so a restart continues the walk instead of jumping back to the start. */
  constructor(seed: number, startValues: Partial<Record<PriceSymbol, number>> = {}, now: () => number = Date.now) {
    this.#random = seededRandom(seed);
    this.#values = { ...START_VALUE, ...startValues };
    this.#now = now;
  }

  #step(symbol: PriceSymbol, value: number): number {
    return value * Math.exp(STEP_VOLATILITY[symbol] * normal(this.#random));
  }

  async latest(): Promise<Observation[]> {
    // Observations are per second; two calls in one second must not collide on the same timestamp.
    const seconds = Math.max(Math.floor(this.#now() / 1000), this.#lastSeconds + 1);
    this.#lastSeconds = seconds;
    return PRICE_SYMBOLS.flatMap((symbol) => {
      this.#values[symbol] = this.#step(symbol, this.#values[symbol]);
      const checked = checkObservation({ symbol, value: this.#values[symbol], observedAtSeconds: seconds }, 'simulated', seconds * 1000);
      return checked.ok ? [checked.observation] : [];
    });
  }

  /** A walk backwards from the current value, one point every 5 minutes, so charts have a past on a first start. */
  async history(symbol: PriceSymbol, from: Date, to: Date): Promise<Observation[]> {
    const points: Observation[] = [];
    let value = this.#values[symbol];
    for (let timeMs = to.getTime() - HISTORY_STEP_MS; timeMs >= from.getTime(); timeMs -= HISTORY_STEP_MS) {
      value = this.#step(symbol, value);
      const checked = checkObservation({ symbol, value, observedAtSeconds: Math.floor(timeMs / 1000) }, 'simulated', this.#now());
      if (checked.ok) points.push(checked.observation);
    }
    return points.reverse();
  }
}
