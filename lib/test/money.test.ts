import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { AMOUNT_MINOR_MAX, AmountScalar, formatAmount, parseAmount } from '../money.js';

describe('parseAmount', () => {
  it('turns decimal strings into minor units per currency', () => {
    expect(parseAmount('12.50', 'USD')).toBe(1250n);
    expect(parseAmount('12.5', 'USD')).toBe(1250n);
    expect(parseAmount('7', 'USD')).toBe(700n);
    expect(parseAmount('0.000000000000000001', 'ETH')).toBe(1n);
    expect(parseAmount('1.5', 'CARBON')).toBe(1_500_000_000_000_000_000n);
  });

  it.each([
    ['0', 'greater than zero'],
    ['0.00', 'greater than zero'],
    ['-1', 'without sign'],
    ['+1', 'without sign'],
    ['1e3', 'exponent'],
    ['1.005', 'more than 2 decimals'],
    ['abc', 'decimal number'],
    ['', 'decimal number'],
    [' 1', 'decimal number'],
    ['01', 'decimal number'],
    ['1.', 'decimal number'],
    ['.5', 'decimal number'],
    ['NaN', 'decimal number'],
    ['Infinity', 'decimal number'],
    ['1'.repeat(81), 'decimal number'],
    [`${10n ** 34n + 1n}`, 'too large'],
  ])('refuses %j with BAD_USER_INPUT (%s)', (text, reason) => {
    const attempt = () => parseAmount(text, 'USD');
    expect(attempt).toThrow(AppError);
    expect(attempt).toThrow(new RegExp(reason));
    try {
      attempt();
    } catch (error) {
      expect((error as AppError).code).toBe('BAD_USER_INPUT');
    }
  });

  it('accepts the largest amount and round-trips it', () => {
    const text = formatAmount(AMOUNT_MINOR_MAX, 'USD');
    expect(parseAmount(text, 'USD')).toBe(AMOUNT_MINOR_MAX);
  });
});

describe('formatAmount', () => {
  it('shows the full scale of the currency and keeps the sign', () => {
    expect(formatAmount(1250n, 'USD')).toBe('12.50');
    expect(formatAmount(5n, 'USD')).toBe('0.05');
    expect(formatAmount(0n, 'USD')).toBe('0.00');
    expect(formatAmount(-5n, 'USD')).toBe('-0.05');
    expect(formatAmount(1n, 'ETH')).toBe('0.000000000000000001');
  });
});

describe('the Amount scalar', () => {
  it('refuses numbers, which would lose cents, and exponents', () => {
    expect(() => AmountScalar.parseValue(12.5)).toThrow(/not a number/);
    expect(() => AmountScalar.parseValue('1e2')).toThrow(/without exponent/);
    expect(AmountScalar.parseValue('12.50')).toBe('12.50');
  });
});
