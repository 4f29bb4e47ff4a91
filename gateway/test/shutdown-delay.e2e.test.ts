import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { gatewayConfigSchema } from '../src/config.js';
import { type Stack, startStack } from '../../test/support/stack.js';

const DELAY_MS = 1_500;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ services: ['price'] });
});
afterAll(async () => {
  await stack?.stop();
});

const PRICE = JSON.stringify({ query: '{ price(symbol: MCO2) { symbol } }' });

describe('SHUTDOWN_DELAY_MS: a stopping gateway behind a load balancer', () => {
  it('answers /health 503 while it still serves requests, then stops listening', async () => {
    const gateway = await stack.startGateway({ SHUTDOWN_DELAY_MS: String(DELAY_MS) });
    const health = new URL('/health', gateway.url);
    expect((await fetch(health)).status).toBe(200);
    const stopStartedMs = performance.now();
    const stopped = gateway.stop();
    // Within the delay: a health check takes the instance out, a request already on its way is still answered.
    expect((await fetch(health)).status).toBe(503);
    const answer = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PRICE });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ data: { price: { symbol: 'MCO2' } } });
    await stopped;
    expect(performance.now() - stopStartedMs).toBeGreaterThanOrEqual(DELAY_MS - 50);
    await expect(fetch(health)).rejects.toThrow();
  });

  it('stops at once by default', async () => {
    const gateway = await stack.startGateway();
    const stopStartedMs = performance.now();
    await gateway.stop();
    expect(performance.now() - stopStartedMs).toBeLessThan(DELAY_MS);
    await expect(fetch(new URL('/health', gateway.url))).rejects.toThrow();
  });

  it('refuses a delay that is negative, fractional or over a minute, naming the variable', () => {
    for (const value of ['-1', '1.5', '60001', 'soon']) {
      expect(() => parseConfig(gatewayConfigSchema, { SHUTDOWN_DELAY_MS: value }), value).toThrow(/SHUTDOWN_DELAY_MS/);
    }
    expect(parseConfig(gatewayConfigSchema, {}).SHUTDOWN_DELAY_MS).toBe(0);
  });
});
