import { GraphQLScalarType, Kind } from 'graphql';
import { badInput } from './errors.js';

export const CURRENCIES = ['USD', 'ETH', 'CARBON'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** Minor units per major unit, as a power of ten: cents, wei, and 10^-18 tonne of CO2e (the MCO2 token's decimals). */
export const SCALE: Record<Currency, number> = { USD: 2, ETH: 18, CARBON: 18 };

/**
 * The largest amount any single posting or balance may hold, in minor units. 10^36 minor units is 10^18 ETH or
 * 10^34 USD: far beyond anything real, and well inside `numeric(78,0)` and uint256, so sums of many never overflow.
 */
export const AMOUNT_MINOR_MAX = 10n ** 36n;

const DECIMAL_PATTERN = /^(0|[1-9]\d*)(\.\d+)?$/;
const SIGNED_DECIMAL_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?$/;
const AMOUNT_TEXT_LENGTH_MAX = 80;

/**
 * "12.50" USD → 1250n. Refuses exponents, signs, spaces, more decimals than the currency has, zero
 * (amounts users send are always positive) and anything above AMOUNT_MINOR_MAX.
 */
export function parseAmount(text: string, currency: Currency, field = 'amount'): bigint {
  if (text.length > AMOUNT_TEXT_LENGTH_MAX || !DECIMAL_PATTERN.test(text)) {
    throw badInput(`${field} must be a positive decimal number like "12.50", without sign or exponent`, { field });
  }
  const [whole = '0', fraction = ''] = text.split('.');
  const scale = SCALE[currency];
  if (fraction.length > scale) throw badInput(`${field} has more than ${scale} decimals, the most ${currency} allows`, { field, currency });
  const minor = BigInt(whole) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0') || '0');
  if (minor === 0n) throw badInput(`${field} must be greater than zero`, { field });
  if (minor > AMOUNT_MINOR_MAX) throw badInput(`${field} is too large`, { field });
  return minor;
}

/** 1250n USD → "12.50"; negative amounts keep their sign. Always shows the currency's full scale. */
export function formatAmount(minor: bigint, currency: Currency): string {
  const scale = SCALE[currency];
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

function parseAmountText(value: unknown): string {
  if (typeof value !== 'string') throw badInput('Amount must be a string like "12.50", not a number (floats lose cents)');
  if (value.length > AMOUNT_TEXT_LENGTH_MAX || !SIGNED_DECIMAL_PATTERN.test(value)) throw badInput('Amount must be a decimal string like "12.50", without exponent');
  return value;
}

/**
 * The `Amount` scalar: a decimal string on the wire. It checks only the shape here, because how many
 * decimals are allowed depends on the currency next to it; resolvers finish with `parseAmount`.
 */
export const AmountScalar = new GraphQLScalarType<string, string>({
  name: 'Amount',
  description: 'A decimal amount as a string, e.g. "12.50". Never a float, never an exponent.',
  serialize(value) {
    if (typeof value !== 'string' || !SIGNED_DECIMAL_PATTERN.test(value)) throw new TypeError('Amount must be serialised from a decimal string');
    return value;
  },
  parseValue: parseAmountText,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('Amount must be a string like "12.50", not a number (floats lose cents)');
    return parseAmountText(ast.value);
  },
});
