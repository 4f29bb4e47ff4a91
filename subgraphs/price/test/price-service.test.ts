import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import { TOPICS } from '../../../lib/events/envelope.js';
import { QUOTE_PATH, verifyQuote } from '../../../lib/pricing/quote.js';
import { connectDatabase } from '../../../lib/db.js';
import * as priceSchema from '../src/db/schema.js';
import { pruneOlderThan } from '../src/prices/store.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { type FakeCoinGecko, simplePriceBody, startFakeCoinGecko } from '../../../test/support/fake-coingecko.js';
import { type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

/** What the fake CoinGecko reports; tests change it to move the market. */
const market = { mco2: 0.28, eth: 3500, mco2AgeSeconds: 5, ethAgeSeconds: 600, mode: 'good' as 'good' | 'html' | 'negative' | 'future' };
const marketAt = { mco2: 0, eth: 0 };

let fake: FakeCoinGecko;
let stack: Stack;
let sql: postgres.Sql;
const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
const brokers = inject('kafkaBrokers');
const topicPrefix = `price-${randomUUID().slice(0, 8)}.`;

function answerSimplePrice() {
  const nowSeconds = Math.floor(Date.now() / 1000);
  marketAt.mco2 ||= nowSeconds - market.mco2AgeSeconds;
  marketAt.eth ||= nowSeconds - market.ethAgeSeconds;
  if (market.mode === 'html') return { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>Checking your browser</body></html>' };
  const mco2 =
    market.mode === 'negative' ? { usd: -0.5, last_updated_at: nowSeconds } : market.mode === 'future' ? { usd: 0.99, last_updated_at: nowSeconds + 7200 } : { usd: market.mco2, last_updated_at: marketAt.mco2 };
  return { body: simplePriceBody({ 'moss-carbon-credit': mco2, ethereum: { usd: market.eth, last_updated_at: marketAt.eth } }) };
}

/** Moves the MCO2 market to a new value, observed now. */
function setMco2(value: number) {
  market.mco2 = value;
  marketAt.mco2 = Math.floor(Date.now() / 1000);
}

beforeAll(async () => {
  fake = await startFakeCoinGecko();
  fake.fallback = (path) => (path.includes('/market_chart') ? { body: JSON.stringify({ prices: [[Date.now() - 3_600_000, 0.27]], market_caps: [], total_volumes: [] }) } : answerSimplePrice());
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  stack = await startStack({
    services: ['price'],
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: {
      price: {
        PRICE_SOURCE: 'coingecko',
        COINGECKO_BASE_URL: fake.baseUrl,
        COINGECKO_API_PLAN: 'pro',
        COINGECKO_API_KEY: 'test-pro-key',
        COINGECKO_RETRY_ATTEMPTS: '1',
        PRICE_POLL_INTERVAL_MS: '500',
        PRICE_STALE_AFTER_SECONDS: '60',
        PRICE_BACKFILL_DAYS: '1',
      },
    },
  });
  sql = postgres(stack.subgraphs.price!.databaseUrl, { max: 2, onnotice: () => {} });
  // Backfilled history comes first; wait for the first live poll.
  await waitFor(async () => (await stack.graphql(/* GraphQL */ `{ price(symbol: MCO2) { value } }`)).data?.price?.value === '0.28', { timeoutMs: 15_000, message: 'the first polled MCO2 price' });
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await stack?.stop();
  await fake?.stop();
});

const PRICES = /* GraphQL */ `{ mco2: price(symbol: MCO2) { symbol vs value source observedAt stale } eth: price(symbol: ETH) { value stale } }`;

describe('prices through the gateway', () => {
  it('answers the latest CoinGecko prices with their source, and marks an old one stale', async () => {
    const result = await stack.graphql(PRICES);
    expect(result.errors).toBeUndefined();
    expect(result.data?.mco2).toMatchObject({ symbol: 'MCO2', vs: 'USD', value: '0.28', source: 'COINGECKO', stale: false });
    expect(result.data?.eth).toEqual({ value: '3500', stale: true });
    expect(fake.requests.every((request) => request.headers['x-cg-pro-api-key'] === 'test-pro-key')).toBe(true);
  });

  it('stores a repeated observation once', async () => {
    const polls = fake.requests.length;
    await waitFor(() => fake.requests.length >= polls + 2, { timeoutMs: 10_000, message: 'two more polls' });
    const rows = await sql`select count(*)::int as count from prices where symbol = 'ETH' and source = 'coingecko' and observed_at = to_timestamp(${marketAt.eth})`;
    expect(rows[0]!.count).toBe(1);
  });

  it.each(['html', 'negative', 'future'] as const)('keeps the last good price when CoinGecko answers %s', async (mode) => {
    const before = (await stack.graphql(PRICES)).data?.mco2;
    market.mode = mode;
    const polls = fake.requests.length;
    await waitFor(() => fake.requests.length >= polls + 2, { timeoutMs: 10_000, message: 'two polls of bad answers' });
    market.mode = 'good';
    expect((await stack.graphql(PRICES)).data?.mco2).toEqual(before);
    const bad = await sql`select count(*)::int as count from prices where value <= 0 or observed_at > now() + interval '1 minute'`;
    expect(bad[0]!.count).toBe(0);
  });

  it('converts between currencies at the latest prices, rounding down', async () => {
    const convert = /* GraphQL */ `query ($amount: Amount!, $from: Currency!, $to: Currency!) { convert(amount: $amount, from: $from, to: $to) { amount rate result stale } }`;
    const cases = [
      [{ amount: '100.00', from: 'USD', to: 'CARBON' }, { amount: '100.00', rate: '3.571428571428571428', result: '357.142857142857142857', stale: false }],
      [{ amount: '1.5', from: 'CARBON', to: 'USD' }, { amount: '1.500000000000000000', rate: '0.28', result: '0.42', stale: false }],
      [{ amount: '1', from: 'ETH', to: 'CARBON' }, { amount: '1.000000000000000000', rate: '12500', result: '12500.000000000000000000', stale: true }],
      [{ amount: '0.01', from: 'USD', to: 'CARBON' }, { amount: '0.01', rate: '3.571428571428571428', result: '0.035714285714285714', stale: false }],
      [{ amount: '0.000000000000000001', from: 'CARBON', to: 'USD' }, { amount: '0.000000000000000001', rate: '0.28', result: '0.00', stale: false }],
    ] as const;
    for (const [variables, expected] of cases) {
      const result = await stack.graphql(convert, variables);
      expect(result.data?.convert, JSON.stringify(variables)).toEqual(expected);
    }
    for (const amount of ['1e3', '-5', '0', '0.001', 'ten']) {
      const result = await stack.graphql(convert, { amount, from: 'USD', to: 'ETH' });
      expect(result.errors?.[0]?.extensions?.code, amount).toBe('BAD_USER_INPUT');
    }
  });
});

describe('price history', () => {
  const at = (minutes: number) => new Date(Date.UTC(2020, 0, 1, 0, minutes)).toISOString();
  beforeAll(async () => {
    const points: [number, string][] = [[0, '1.0'], [1, '1.5'], [2, '0.5'], [3, '1.2'], [61, '2.0'], [62, '2.5'], [180, '3.0']];
    for (const [minutes, value] of points) {
      await sql`insert into prices (symbol, vs_currency, value, source, observed_at) values ('MCO2', 'USD', ${value}, 'simulated', ${at(minutes)})`;
    }
  });
  const HISTORY = /* GraphQL */ `query ($from: DateTime!, $to: DateTime, $interval: CandleInterval!) {
    priceHistory(symbol: MCO2, from: $from, to: $to, interval: $interval) { start end open high low close samples } }`;

  it('computes hourly candles in SQL and leaves out empty hours', async () => {
    const result = await stack.graphql(HISTORY, { from: at(0), to: at(240), interval: 'HOUR' });
    expect(result.data?.priceHistory).toEqual([
      { start: at(0), end: at(60), open: '1', high: '1.5', low: '0.5', close: '1.2', samples: 4 },
      { start: at(60), end: at(120), open: '2', high: '2.5', low: '2', close: '2.5', samples: 2 },
      { start: at(180), end: at(240), open: '3', high: '3', low: '3', close: '3', samples: 1 },
    ]);
  });

  it('computes minute candles over [from, to)', async () => {
    const result = await stack.graphql(HISTORY, { from: at(1), to: at(3), interval: 'MINUTE' });
    expect(result.data?.priceHistory.map((candle: { open: string }) => candle.open)).toEqual(['1.5', '0.5']);
  });

  it('refuses a range that is backwards or holds too many candles', async () => {
    const backwards = await stack.graphql(HISTORY, { from: at(10), to: at(0), interval: 'HOUR' });
    expect(backwards.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const tooMany = await stack.graphql(HISTORY, { from: at(0), to: at(60 * 24 * 2), interval: 'MINUTE' });
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0]?.message).toMatch(/at most 1000/);
    const badDate = await stack.graphql(HISTORY, { from: 'yesterday', interval: 'HOUR' });
    expect(badDate.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('retention', () => {
  it('deletes observations older than the cutoff and keeps the rest', async () => {
    const database = connectDatabase(stack.subgraphs.price!.databaseUrl, priceSchema);
    try {
      await sql`insert into prices (symbol, vs_currency, value, source, observed_at) values ('ETH', 'USD', '1000', 'simulated', '2010-01-01T00:00:00Z')`;
      const window2020 = () => sql`select count(*)::int as count from prices where observed_at >= '2020-01-01' and observed_at < '2020-01-02'`;
      const kept = (await window2020())[0]!.count;
      expect(kept).toBe(7);
      expect(await pruneOlderThan(database.db, new Date('2015-01-01T00:00:00Z'))).toBe(1);
      expect((await sql`select count(*)::int as count from prices where observed_at < '2015-01-01'`)[0]!.count).toBe(0);
      expect((await window2020())[0]!.count).toBe(kept);
    } finally {
      await database.close();
    }
  });
});

describe('the internal quote endpoint', () => {
  const quote = async (body: unknown, kind: 'service' | 'gateway' = 'service') => {
    const token = await credential.mint(kind === 'service' ? { kind: 'service', service: 'transaction' } : { kind: 'gateway', identity: null });
    const response = await fetch(new URL(QUOTE_PATH, stack.subgraphs.price!.url), { method: 'POST', headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: token }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('signs a fresh price with an expiry that services can verify', async () => {
    const { status, body } = await quote({ symbol: 'MCO2' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ symbol: 'MCO2', vs: 'USD', value: '0.28', source: 'coingecko' });
    expect(Date.parse(body.expiresAt) - Date.parse(body.quotedAt)).toBe(30_000);
    const verified = await verifyQuote(body.signature, TEST_SECRETS.GATEWAY_SECRET);
    expect(verified.value).toBe('0.28');
    await expect(verifyQuote(body.signature, 'another-secret-that-is-long-enough-0000')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('refuses to quote a stale price, a bad request, and anyone but a service', async () => {
    expect((await quote({ symbol: 'ETH' })).body.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await quote({ symbol: 'DOGE' })).body.error.code).toBe('BAD_USER_INPUT');
    expect((await quote({ symbol: 'MCO2' }, 'gateway')).status).toBe(403);
  });
});

describe('priceUpdated', () => {
  it('pushes a new price to a subscriber within a bounded wait, through the real Kafka broker', async () => {
    const client = createClient({
      url: stack.subgraphs.price!.url.replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: async () => ({ [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity: null }) }),
      retryAttempts: 0,
    });
    const ticks: { value: string; source: string }[] = [];
    const subscribed = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    const unsubscribe = client.subscribe<{ priceUpdated: { value: string; source: string } }>(
      { query: /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value source stale } }` },
      { next: (message) => void (message.data && ticks.push(message.data.priceUpdated)), error: () => {}, complete: () => {} },
    );
    try {
      await subscribed;
      // The live feed's consumer is already in its group (it joined at start), so the next change reaches us.
      setMco2(0.31);
      const tick = await waitFor(() => ticks.find((candidate) => candidate.value === '0.31'), { timeoutMs: 15_000, message: 'a priceUpdated tick of 0.31' });
      expect(tick).toEqual({ value: '0.31', source: 'COINGECKO', stale: false });
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });
});
