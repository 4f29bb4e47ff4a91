import { numberToDecimal } from '../../../../lib/decimal.js';
import type { Observation, PriceSourceName, RawObservation } from './source.js';

/** Clocks differ a little; a timestamp further ahead than this is a broken answer, not skew. */
export const FUTURE_SKEW_MAX_MS = 60_000;
/** Far above any price MCO2 or ETH ever had in USD, far below the column's 20 integer digits. */
const PRICE_VALUE_MAX = 1e12;

export type Checked = { ok: true; observation: Observation } | { ok: false; reason: string };

/** The checks every price passes before it is stored or published: a positive finite value and a sane time. */
export function checkObservation(raw: RawObservation, source: PriceSourceName, nowMs: number): Checked {
  const { symbol, value, observedAtSeconds } = raw;
  if (typeof value !== 'number' || Number.isNaN(value)) return { ok: false, reason: `${symbol}: price is not a number` };
  if (!Number.isFinite(value)) return { ok: false, reason: `${symbol}: price is not finite` };
  if (value <= 0) return { ok: false, reason: `${symbol}: price ${value} is not positive` };
  if (value > PRICE_VALUE_MAX) return { ok: false, reason: `${symbol}: price ${value} is implausibly large` };
  if (!Number.isInteger(observedAtSeconds) || observedAtSeconds <= 0) return { ok: false, reason: `${symbol}: timestamp ${observedAtSeconds} is not a valid time` };
  const observedAtMs = observedAtSeconds * 1000;
  if (observedAtMs > nowMs + FUTURE_SKEW_MAX_MS) return { ok: false, reason: `${symbol}: timestamp ${new Date(observedAtMs).toISOString()} is in the future` };
  const decimal = numberToDecimal(value);
  if (decimal === '0') return { ok: false, reason: `${symbol}: price ${value} rounds to zero at 18 decimals` };
  return { ok: true, observation: { symbol, vs: 'USD', value: decimal, source, observedAt: new Date(observedAtMs) } };
}
