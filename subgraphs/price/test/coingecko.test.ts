import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log.js';
import { type FakeCoinGecko, RATE_LIMITED_BODY, simplePriceBody, startFakeCoinGecko } from '../../../test/support/fake-coingecko.js';
import { CoinGeckoSource, parseRetryAfter, UpstreamError } from '../src/sources/coingecko.js';

let fake: FakeCoinGecko;
/** Back-off delays the client asked for; the test's sleep records them instead of waiting them out. */
let sleeps: number[];
const nowSeconds = () => Math.floor(Date.now() / 1000);
const good = () => simplePriceBody({ 'moss-carbon-credit': { usd: 0.2834, last_updated_at: nowSeconds() - 30 }, ethereum: { usd: 3512.77, last_updated_at: nowSeconds() - 20 } });

function client(overrides: Partial<ConstructorParameters<typeof CoinGeckoSource>[0]> = {}) {
  return new CoinGeckoSource({
    baseUrl: fake.baseUrl,
    plan: 'demo',
    apiKey: 'demo-key-123',
    timeoutMs: 300,
    retry: { attemptsMax: 4, delayBaseMs: 100, delayMaxMs: 10_000 },
    log: silentLogger,
    sleep: async (ms) => void sleeps.push(ms),
    ...overrides,
  });
}

beforeAll(async () => {
  fake = await startFakeCoinGecko();
});
afterEach(() => {
  fake.requests.length = 0;
  sleeps = [];
});
afterAll(async () => {
  await fake.stop();
});
sleeps = [];

describe('the CoinGecko client', () => {
  it('reads MCO2 and ETH from /simple/price with the plan’s key header', async () => {
    fake.script({ body: good() });
    const observations = await client().latest();
    expect(observations.map(({ symbol, value, source }) => ({ symbol, value, source }))).toEqual([
      { symbol: 'MCO2', value: '0.2834', source: 'coingecko' },
      { symbol: 'ETH', value: '3512.77', source: 'coingecko' },
    ]);
    const [request] = fake.requests;
    expect(request?.path).toBe('/api/v3/simple/price?ids=moss-carbon-credit,ethereum&vs_currencies=usd&include_last_updated_at=true');
    expect(request?.headers['x-cg-demo-api-key']).toBe('demo-key-123');
    expect(request?.headers['x-cg-pro-api-key']).toBeUndefined();
  });

  it('sends the pro header on the pro plan and no key on the public plan', async () => {
    fake.script({ body: good() }, { body: good() });
    await client({ plan: 'pro', apiKey: 'pro-key' }).latest();
    await client({ plan: 'public', apiKey: undefined }).latest();
    expect(fake.requests[0]?.headers['x-cg-pro-api-key']).toBe('pro-key');
    expect(Object.keys(fake.requests[1]?.headers ?? {}).filter((name) => name.startsWith('x-cg'))).toEqual([]);
  });

  it('waits at least Retry-After after a 429, then recovers', async () => {
    fake.script({ status: 429, headers: { 'retry-after': '7' }, body: RATE_LIMITED_BODY }, { body: good() });
    expect(await client().latest()).toHaveLength(2);
    expect(fake.requests).toHaveLength(2);
    expect(sleeps).toEqual([7000]);
  });

  it('backs off exponentially with jitter on 500s and time-outs, then recovers', async () => {
    fake.script({ status: 500, body: 'upstream error' }, { body: good(), delayMs: 1000 }, { status: 503, body: '' }, { body: good() });
    expect(await client().latest()).toHaveLength(2);
    expect(fake.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    // Full jitter: each delay lies between 0 and base × 2^(attempt-1).
    sleeps.forEach((ms, index) => expect(ms).toBeLessThanOrEqual(100 * 2 ** index));
  });

  it('gives up after the last attempt with a clear reason', async () => {
    fake.script(...Array.from({ length: 4 }, () => ({ status: 502, body: '<html>Bad gateway</html>' })));
    await expect(client().latest()).rejects.toThrow(/CoinGecko answered 502/);
    expect(fake.requests).toHaveLength(4);
  });

  it('refuses HTML instead of JSON without retrying', async () => {
    fake.script({ headers: { 'content-type': 'text/html' }, body: '<!DOCTYPE html><html><body>Just a moment...</body></html>' });
    const error = await client().latest().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toMatch(/not JSON/);
    expect(fake.requests).toHaveLength(1);
  });

  it('refuses malformed JSON and an answer of the wrong shape', async () => {
    fake.script({ body: '{"moss-carbon-credit": {"usd": 0.28,' }, { body: '[1, 2, 3]' });
    await expect(client().latest()).rejects.toThrow(/not JSON/);
    await expect(client().latest()).rejects.toThrow(/unexpected shape/);
  });

  it('does not retry a refused API key, and says which setting to check', async () => {
    fake.script({ status: 401, body: JSON.stringify({ status: { error_code: 10002, error_message: 'API Key Missing' } }) });
    await expect(client().latest()).rejects.toThrow(/401 \(check COINGECKO_API_KEY/);
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    ['a negative price', { usd: -1, last_updated_at: nowSeconds() }],
    ['a zero price', { usd: 0, last_updated_at: nowSeconds() }],
    ['a price that is not a number', { usd: 'NaN', last_updated_at: nowSeconds() }],
    ['a null price', { usd: null, last_updated_at: nowSeconds() }],
    ['a missing price', { last_updated_at: nowSeconds() }],
    ['a missing timestamp', { usd: 0.3 }],
    ['a timestamp in the future', { usd: 0.3, last_updated_at: nowSeconds() + 3600 }],
    ['a timestamp in milliseconds', { usd: 0.3, last_updated_at: Date.now() }],
  ])('drops %s for that coin and keeps the other', async (_name, mco2) => {
    fake.script({ body: simplePriceBody({ 'moss-carbon-credit': mco2, ethereum: { usd: 3000, last_updated_at: nowSeconds() } }) });
    const observations = await client().latest();
    expect(observations.map((observation) => observation.symbol)).toEqual(['ETH']);
  });

  it('drops a coin the answer does not name (a wrong id) and a partial answer', async () => {
    fake.script({ body: simplePriceBody({ 'moss-land': { usd: 0.3, last_updated_at: nowSeconds() }, ethereum: { usd: 3000, last_updated_at: nowSeconds() } }) }, { body: '{}' });
    expect((await client().latest()).map((observation) => observation.symbol)).toEqual(['ETH']);
    expect(await client().latest()).toEqual([]);
  });

  it('reads history from /coins/{id}/market_chart within the asked range', async () => {
    const nowMs = Date.now();
    const points = [[nowMs - 3 * 3_600_000, 0.25], [nowMs - 2 * 3_600_000, 0.26], [nowMs - 3_600_000, -5], [nowMs - 60_000, 0.27]];
    fake.script({ body: JSON.stringify({ prices: points, market_caps: [], total_volumes: [] }) });
    const history = await client().history('MCO2', new Date(nowMs - 2.5 * 3_600_000), new Date(nowMs));
    expect(fake.requests[0]?.path).toBe('/api/v3/coins/moss-carbon-credit/market_chart?vs_currency=usd&days=1');
    expect(history.map((observation) => observation.value)).toEqual(['0.26', '0.27']);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('12', 0)).toBe(12_000);
    expect(parseRetryAfter(new Date(65_000).toUTCString(), 5_000)).toBe(60_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});
