import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../backoff.js';

describe('backoffDelayMs', () => {
  it('doubles the base per step up to the maximum, and takes its jitter off below the doubled wait', () => {
    const backoff = { baseMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4, 50].map((doublings) => backoffDelayMs(doublings, backoff))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelayMs(2, { ...backoff, jitter: 1 }, () => 0.25)).toBe(300);
    expect(backoffDelayMs(2, { ...backoff, jitter: 0.5 }, () => 1)).toBe(200);
    expect(backoffDelayMs(20, { ...backoff, jitter: 1 }, () => 0)).toBe(1_000);
  });
});
