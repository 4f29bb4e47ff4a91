import { DrizzleQueryError } from 'drizzle-orm/errors';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../database-availability.js';
import { retryDelayMs } from '../server/periodic.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('isDatabaseUnavailable', () => {
  it.each(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006', '53300', '25P03'])('says yes to %s', (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(true);
  });

  it.each(['23505', '40001', '57014', '22P02', 'INSUFFICIENT_FUNDS'])('says no to %s, an answer about the statement', (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(false);
  });

  it('finds the driver error under drizzle and GraphQL wrapping, and says no to anything else', () => {
    const wrapped = new GraphQLError('failed', { originalError: new DrizzleQueryError('select 1', [], withCode('57P01')) });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
    expect(isDatabaseUnavailable(new GraphQLError('bug', { originalError: new TypeError('x is undefined') }))).toBe(false);
    expect(isDatabaseUnavailable('CONNECTION_CLOSED')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

describe('retryDelayMs of a periodic task', () => {
  it('is the interval without failures, doubles per failure, and stops at 10 s or the interval when longer', () => {
    expect([0, 1, 2, 3, 10].map((failures) => retryDelayMs(1_000, failures))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000]);
    expect(retryDelayMs(60_000, 5)).toBe(60_000);
  });
});
