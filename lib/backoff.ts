/** How a wait grows with consecutive failures: every retry loop in the tree takes its delay from `backoffDelayMs`. */
export interface Backoff {
  /** The wait after the first failure (zero doublings). */
  baseMs: number;
  /** No wait is longer than this, jitter included. */
  maxMs: number;
  /**
   * The share of the wait drawn at random below it, so that callers who failed together do not retry together:
   * 0 for none (the default), 1 for full jitter (anywhere from zero up to the wait).
   */
  jitter?: number;
}

/** Past this many doublings any base is beyond every maximum; the bound keeps `2 ** n` finite. */
const DOUBLINGS_MAX = 30;

/** The wait after `doublings` doublings of the base: base × 2^doublings, capped at the maximum, less its jitter. */
export function backoffDelayMs(doublings: number, backoff: Backoff, random: () => number = Math.random): number {
  const delayMs = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(doublings, 0), DOUBLINGS_MAX));
  const jitter = backoff.jitter ?? 0;
  return jitter === 0 ? delayMs : delayMs * (1 - jitter * random());
}
