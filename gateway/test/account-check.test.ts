import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors.js';
import { UpstreamUnavailable } from '../../lib/internal-client.js';
import { silentLogger } from '../../lib/log.js';
import { AccountCheck, type AccountStatus } from '../src/account-check.js';

const SETTINGS = { ttlMs: 30_000, negativeTtlMs: 5_000, outageGraceMs: 300_000 };
const ana = { userId: '00000000-0000-4000-8000-00000000000a', role: 'BUYER' as const };

/** A stand-in for the user subgraph's lookup that counts the questions and answers as told. */
function userService(initial: AccountStatus | 'down') {
  const state = { answer: initial, questions: 0 };
  const lookup = async (): Promise<AccountStatus> => {
    state.questions++;
    await Promise.resolve();
    if (state.answer === 'down') throw new UpstreamUnavailable('connection refused');
    return state.answer;
  };
  return { state, check: new AccountCheck(lookup, SETTINGS, silentLogger) };
}

async function codeOf(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
  return 'SERVED';
}

describe('the account check at the gateway', () => {
  it('asks once per TTL for an account that exists, and again after it', async () => {
    const { state, check } = userService('active');
    const now = Date.now();
    for (let request = 0; request < 50; request++) expect(await check.confirm(ana, now + request * 100)).toEqual(ana);
    expect(state.questions).toBe(1);
    await check.confirm(ana, now + SETTINGS.ttlMs + 1);
    expect(state.questions).toBe(2);
  });

  it('asks once for a burst of concurrent requests', async () => {
    const { state, check } = userService('active');
    await Promise.all(Array.from({ length: 20 }, () => check.confirm(ana)));
    expect(state.questions).toBe(1);
  });

  it('refuses a missing account with UNAUTHENTICATED, keeps that answer briefly, then asks again', async () => {
    const { state, check } = userService('missing');
    const now = Date.now();
    expect(await codeOf(check.confirm(ana, now))).toBe('UNAUTHENTICATED');
    expect(await codeOf(check.confirm(ana, now + SETTINGS.negativeTtlMs - 1))).toBe('UNAUTHENTICATED');
    expect(state.questions).toBe(1);
    state.answer = 'active';
    expect(await codeOf(check.confirm(ana, now + SETTINGS.negativeTtlMs + 1))).toBe('SERVED');
    expect(state.questions).toBe(2);
  });

  it('refuses an account deleted since it was last confirmed, once the TTL has passed', async () => {
    const { state, check } = userService('active');
    const now = Date.now();
    await check.confirm(ana, now);
    state.answer = 'missing';
    expect(await codeOf(check.confirm(ana, now + SETTINGS.ttlMs - 1))).toBe('SERVED');
    expect(await codeOf(check.confirm(ana, now + SETTINGS.ttlMs + 1))).toBe('UNAUTHENTICATED');
  });

  it('serves on a recent "yes" while the user subgraph is down, and says UPSTREAM_UNAVAILABLE, not UNAUTHENTICATED, otherwise', async () => {
    const { state, check } = userService('active');
    const now = Date.now();
    await check.confirm(ana, now);
    state.answer = 'down';
    expect(await codeOf(check.confirm(ana, now + SETTINGS.ttlMs + 1))).toBe('SERVED');
    // Not every request waits for the service that is down: it is asked again a second later at the soonest.
    const questionsInOutage = state.questions;
    for (let request = 0; request < 20; request++) await check.confirm(ana, now + SETTINGS.ttlMs + 1 + request * 10);
    expect(state.questions).toBe(questionsInOutage);
    expect(await codeOf(check.confirm(ana, now + SETTINGS.outageGraceMs - 1))).toBe('SERVED');
    expect(state.questions).toBe(questionsInOutage + 1);
    expect(await codeOf(check.confirm(ana, now + SETTINGS.outageGraceMs + 1))).toBe('UPSTREAM_UNAVAILABLE');
    const stranger = { ...ana, userId: '00000000-0000-4000-8000-00000000000b' };
    expect(await codeOf(check.confirm(stranger, now))).toBe('UPSTREAM_UNAVAILABLE');
  });
});
