import { decimalToScaled, PRICE_SCALE } from '../../../../lib/decimal.js';
import { notFound } from '../../../../lib/errors.js';
import { type Currency, formatAmount, parseAmount, SCALE } from '../../../../lib/money.js';
import { latestPrice, type PriceDb } from './store.js';

/** Which price gives a currency's value in USD. */
const PRICED_AS = { ETH: 'ETH', CARBON: 'MCO2' } as const;

interface UsdValue {
  /** USD per unit of the currency, at PRICE_SCALE. */
  usdPerUnitScaled: bigint;
  observedAt: Date | null;
}

async function usdValueOf(db: PriceDb, currency: Currency): Promise<UsdValue> {
  if (currency === 'USD') return { usdPerUnitScaled: 10n ** BigInt(PRICE_SCALE), observedAt: null };
  const symbol = PRICED_AS[currency];
  const price = await latestPrice(db, symbol, 'USD');
  if (!price) throw notFound(`No ${symbol} price has been observed yet`);
  return { usdPerUnitScaled: decimalToScaled(price.value), observedAt: price.observedAt };
}

export interface Conversion {
  amount: string;
  from: Currency;
  to: Currency;
  /** Units of `to` per unit of `from`, at PRICE_SCALE. */
  rateScaled: bigint;
  result: string;
  observedAt: Date;
}

/**
 * Converts through USD at the latest prices, exactly: the result is rounded down to the smallest unit of
 * `to`, so a conversion never shows more than the amount is worth.
 */
export async function convertAmount(db: PriceDb, amountText: string, from: Currency, to: Currency, now: Date): Promise<Conversion> {
  const amountMinor = parseAmount(amountText, from);
  const [fromValue, toValue] = await Promise.all([usdValueOf(db, from), usdValueOf(db, to)]);
  const numerator = amountMinor * fromValue.usdPerUnitScaled * 10n ** BigInt(SCALE[to]);
  const denominator = toValue.usdPerUnitScaled * 10n ** BigInt(SCALE[from]);
  const observed = [fromValue.observedAt, toValue.observedAt].filter((date): date is Date => date !== null);
  return {
    amount: formatAmount(amountMinor, from),
    from,
    to,
    rateScaled: (fromValue.usdPerUnitScaled * 10n ** BigInt(PRICE_SCALE)) / toValue.usdPerUnitScaled,
    result: formatAmount(numerator / denominator, to),
    observedAt: observed.length ? new Date(Math.min(...observed.map((date) => date.getTime()))) : now,
  };
}
