/**
 * Exact decimal arithmetic on bigint for prices and rates: a value is an integer count of 10^-scale units.
 * Prices use PRICE_SCALE (18 decimals); money uses the currency's scale (money.ts).
 */
export const PRICE_SCALE = 18;
const DECIMAL_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?$/;

/** "0.2834" → 283400000000000000n at scale 18. Refuses anything that is not a plain decimal, or has more decimals than `scale`. */
export function decimalToScaled(text: string, scale = PRICE_SCALE): bigint {
  if (!DECIMAL_PATTERN.test(text)) throw new RangeError(`not a plain decimal: ${JSON.stringify(text)}`);
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > scale) throw new RangeError(`more than ${scale} decimals: ${text}`);
  const value = BigInt(whole) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0') || '0');
  return negative ? -value : value;
}

/** 283400000000000000n at scale 18 → "0.2834": no trailing zeros, no exponent. */
export function scaledToDecimal(value: bigint, scale = PRICE_SCALE): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * A JSON number as CoinGecko sends it (0.2834, 3512.77, 1e-7) → an exact decimal string rounded half-up to
 * `scale` decimals. Uses the number's shortest round-trip text, so 0.1 stays "0.1" (toFixed would give noise digits).
 */
export function numberToDecimal(value: number, scale = PRICE_SCALE): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const [mantissa = '0', exponentText = '0'] = String(value).toLowerCase().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? mantissa.slice(1) : mantissa).split('.');
  let digits = whole + fraction;
  let pointAt = whole.length + exponent;
  if (pointAt <= 0) {
    digits = '0'.repeat(1 - pointAt) + digits;
    pointAt = 1;
  } else if (pointAt > digits.length) digits = digits.padEnd(pointAt, '0');
  const exact = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  const [exactWhole = '0', exactFraction = ''] = exact.split('.');
  let scaled = BigInt(exactWhole + exactFraction.slice(0, scale).padEnd(scale, '0'));
  if ((exactFraction[scale] ?? '0') >= '5') scaled += 1n;
  return scaledToDecimal(negative ? -scaled : scaled, scale);
}

/** numeric(…, 18) prints every decimal ("0.850000000000000000"); the API shows the shortest exact form ("0.85"). */
export const trimDecimal = (value: string) => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);
