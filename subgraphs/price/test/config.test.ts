import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config.js';
import { configSchema } from '../src/server.js';

describe('price service configuration', () => {
  it('defaults to the simulated source polling every 2 s', () => {
    const config = parseConfig(configSchema, {});
    expect(config.PRICE_SOURCE).toBe('simulated');
    expect(config.PRICE_POLL_INTERVAL_MS).toBe(2000);
  });

  it('polls CoinGecko once a minute by default', () => {
    expect(parseConfig(configSchema, { PRICE_SOURCE: 'coingecko' }).PRICE_POLL_INTERVAL_MS).toBe(60_000);
  });

  it('needs a key on the demo and pro plans', () => {
    expect(() => parseConfig(configSchema, { PRICE_SOURCE: 'coingecko', COINGECKO_API_PLAN: 'demo' })).toThrow(/COINGECKO_API_KEY: is required for the demo plan/);
  });

  it('refuses a poll interval faster than the plan allows', () => {
    expect(() => parseConfig(configSchema, { PRICE_SOURCE: 'coingecko', PRICE_POLL_INTERVAL_MS: '1000' })).toThrow(/PRICE_POLL_INTERVAL_MS: must be at least 15000/);
    expect(parseConfig(configSchema, { PRICE_SOURCE: 'coingecko', COINGECKO_API_PLAN: 'pro', COINGECKO_API_KEY: 'k', PRICE_POLL_INTERVAL_MS: '1000' }).PRICE_POLL_INTERVAL_MS).toBe(1000);
  });

  it('names an unknown source', () => {
    expect(() => parseConfig(configSchema, { PRICE_SOURCE: 'binance' })).toThrow(/PRICE_SOURCE: must be simulated or coingecko/);
  });
});
