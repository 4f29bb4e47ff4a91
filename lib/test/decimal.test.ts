import { describe, expect, it } from 'vitest';
import { decimalToScaled, numberToDecimal, scaledToDecimal } from '../decimal.js';

describe('exact decimals for prices', () => {
  it('turns JSON numbers into exact decimal strings without float noise or exponents', () => {
    expect(numberToDecimal(0.1)).toBe('0.1');
    expect(numberToDecimal(0.2834)).toBe('0.2834');
    expect(numberToDecimal(3512.77)).toBe('3512.77');
    expect(numberToDecimal(1e-7)).toBe('0.0000001');
    expect(numberToDecimal(1.5e21)).toBe('1500000000000000000000');
    expect(numberToDecimal(1e-19)).toBe('0');
    expect(numberToDecimal(5e-19)).toBe('0.000000000000000001');
    expect(() => numberToDecimal(Number.NaN)).toThrow(RangeError);
  });

  it('round-trips between decimal strings and scaled integers', () => {
    expect(decimalToScaled('0.2834')).toBe(283_400_000_000_000_000n);
    expect(scaledToDecimal(283_400_000_000_000_000n)).toBe('0.2834');
    expect(scaledToDecimal(-5n, 2)).toBe('-0.05');
    expect(decimalToScaled('0.850000000000000000')).toBe(decimalToScaled('0.85'));
    expect(() => decimalToScaled('1e3')).toThrow(RangeError);
    expect(() => decimalToScaled('0.1234567890123456789')).toThrow(/more than 18 decimals/);
  });
});
