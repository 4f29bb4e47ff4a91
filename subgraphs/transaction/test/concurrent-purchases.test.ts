/**
 * Forty purchases at once against one buyer's USD wallet that covers only some of them: every purchase
 * costs the same, so exactly as many must complete as the money covers, whatever order they are applied in,
 * and the rest must be refused without moving a cent.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '../../../lib/events/envelope.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { register } from '../../../test/support/people.js';
import { type GraphQLResult, type Stack, startStack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

/** Tonnes per purchase: enough decimals that the cost in cents has to be rounded. */
const TONNES = '12.345678901234567891';
const QUOTES_BY_TONNES = 14;
const QUOTES_BY_USD = 13;
const AT_MARKET = 13;
const AFFORDABLE = 13;
const MARKET_TONNES = '100000';
const ADMIN = { email: 'purchases-admin@example.com', password: 'purchases admin password' };

const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`;
const SUPPLY = /* GraphQL */ `mutation ($input: SupplyMarketInput!, $key: String!) { supplyMarket(input: $input, idempotencyKey: $key) { id status } }`;
const QUOTE = /* GraphQL */ `mutation ($input: QuoteCarbonPurchaseInput!) { quoteCarbonPurchase(input: $input) { id tonnes totalUsd pricePerTonne } }`;
const PURCHASE = /* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) { purchaseCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`;
const TOTALS = /* GraphQL */ `query { ledgerSnapshot(first: 10000) { totals { currency total } } }`;

const CARBON_SCALE = 18n;
const USD_SCALE = 2n;

function minor(text: string, scale: bigint): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 10n ** scale + BigInt(fraction.padEnd(Number(scale), '0') || '0');
}

const cents = (usd: bigint) => `${usd / 100n}.${String(usd % 100n).padStart(2, '0')}`;

/** A price "0.8512…" as an exact fraction: units over 10^decimals. */
function fractionOf(price: string): { units: bigint; denominator: bigint } {
  const [whole = '0', fraction = ''] = price.split('.');
  return { units: BigInt(whole + fraction), denominator: 10n ** BigInt(fraction.length) };
}

/** Cost in cents of `carbonMinor` at `price`, rounded up: the platform never sells below the price. */
function costInCents(carbonMinor: bigint, price: string): bigint {
  const { units, denominator } = fractionOf(price);
  const divisor = denominator * 10n ** (CARBON_SCALE - USD_SCALE);
  return (carbonMinor * units + divisor - 1n) / divisor;
}

/** CARBON minor units a budget in cents buys at `price`, rounded down. */
function carbonForCents(usdMinor: bigint, price: string): bigint {
  const { units, denominator } = fractionOf(price);
  return (usdMinor * 10n ** (CARBON_SCALE - USD_SCALE) * denominator) / units;
}

let stack: Stack;
let userSql: postgres.Sql;
let transactionSql: postgres.Sql;
let adminToken: string;
let buyer: { id: string; token: string };
const brokers = inject('kafkaBrokers');
const topicPrefix = `purchases-${randomUUID().slice(0, 8)}.`;

const errorOf = (result: GraphQLResult) => result.errors?.[0]?.extensions as { code?: string; transactionId?: string } | undefined;

async function asAdmin(document: string, variables: Record<string, unknown>) {
  const result = await stack.graphql(document, variables, adminToken);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!;
}

beforeAll(async () => {
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  stack = await startStack({
    services: ['user', 'price', 'transaction'],
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      // One poll at start and none for an hour: every purchase in this file sees the same price.
      price: { PRICE_POLL_INTERVAL_MS: '3600000', PRICE_BACKFILL_DAYS: '1' },
    },
  });
  userSql = postgres(stack.subgraphs.user!.databaseUrl, { max: 2, onnotice: () => {} });
  transactionSql = postgres(stack.subgraphs.transaction!.databaseUrl, { max: 2, onnotice: () => {} });
  await waitFor(async () => (await stack.graphql(/* GraphQL */ `{ price(symbol: MCO2) { stale } }`)).data?.price?.stale === false, {
    timeoutMs: 20_000,
    message: 'a fresh MCO2 price to quote at',
  });
  adminToken = (await stack.graphql(LOGIN, ADMIN)).data!.login.token;
  const registered = await register(stack.gatewayUrl, 'Buyer', { password: 'purchases password' });
  buyer = { id: registered.id, token: registered.token };
  await asAdmin(SUPPLY, { input: { tonnes: MARKET_TONNES }, key: randomUUID() });
}, 90_000);

afterAll(async () => {
  await userSql?.end();
  await transactionSql?.end();
  await stack?.stop();
});

interface Quote {
  id: string;
  tonnes: string;
  totalUsd: string;
  pricePerTonne: string;
}

async function quote(input: { tonnes: string } | { usd: string }): Promise<Quote> {
  const result = await stack.graphql(QUOTE, { input }, buyer.token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data!.quoteCarbonPurchase as Quote;
}

async function balances(): Promise<Record<string, bigint>> {
  const rows = await userSql<{ owner: string; currency: string; balance: string }[]>`
    select coalesce(user_id::text, system_account::text) as owner, currency, balance::text from wallets
    where user_id = ${buyer.id} or system_account = 'market'`;
  return Object.fromEntries(rows.map((row) => [`${row.owner === buyer.id ? 'buyer' : 'market'} ${row.currency}`, BigInt(row.balance)]));
}

describe('concurrent purchases from one wallet', () => {
  it('completes exactly the purchases the money covers, refuses the rest, and replays every answer unchanged', async () => {
    const startedAtMs = Date.now();
    const byTonnes = await Promise.all(Array.from({ length: QUOTES_BY_TONNES }, () => quote({ tonnes: TONNES })));
    const price = byTonnes[0]!.pricePerTonne;
    const costCents = costInCents(minor(TONNES, CARBON_SCALE), price);
    expect(byTonnes.map((each) => [each.pricePerTonne, each.totalUsd])).toEqual(byTonnes.map(() => [price, cents(costCents)]));
    const byUsd = await Promise.all(Array.from({ length: QUOTES_BY_USD }, () => quote({ usd: cents(costCents) })));
    expect(byUsd.map((each) => [each.pricePerTonne, each.totalUsd, minor(each.tonnes, CARBON_SCALE)])).toEqual(
      byUsd.map(() => [price, cents(costCents), carbonForCents(costCents, price)]),
    );

    // One cent short of one more purchase.
    const depositCents = BigInt(AFFORDABLE + 1) * costCents - 1n;
    await asAdmin(DEPOSIT, { input: { userId: buyer.id, currency: 'USD', amount: cents(depositCents) }, key: randomUUID() });
    const before = await balances();

    const purchases = [
      ...[...byTonnes, ...byUsd].map((each) => ({ input: { quoteId: each.id }, carbonMinor: minor(each.tonnes, CARBON_SCALE) })),
      ...Array.from({ length: AT_MARKET }, () => ({ input: { tonnes: TONNES, maxPricePerTonne: price }, carbonMinor: minor(TONNES, CARBON_SCALE) })),
    ].map((purchase) => ({ ...purchase, key: randomUUID() }));
    const send = () => Promise.all(purchases.map((purchase) => stack.graphql(PURCHASE, { input: purchase.input, key: purchase.key }, buyer.token)));
    const results = await send();

    const outcomes = results.map((result, index) => {
      const transaction = result.data?.purchaseCarbonCredits as { id: string; status: string } | undefined;
      return { ...purchases[index]!, id: transaction?.id ?? errorOf(result)?.transactionId, answer: transaction?.status ?? errorOf(result)?.code };
    });
    const completed = outcomes.filter((outcome) => outcome.answer === 'COMPLETED');
    expect(completed.length, JSON.stringify(outcomes.map((outcome) => outcome.answer))).toBe(AFFORDABLE);
    expect(outcomes.filter((outcome) => outcome.answer !== 'COMPLETED').map((outcome) => [outcome.answer, typeof outcome.id])).toEqual(
      Array.from({ length: purchases.length - AFFORDABLE }, () => ['INSUFFICIENT_FUNDS', 'string']),
    );

    // Balances move by exactly the completed purchases, to the minor unit.
    const carbonBought = completed.reduce((sum, outcome) => sum + outcome.carbonMinor, 0n);
    const spentCents = BigInt(AFFORDABLE) * costCents;
    const after = await balances();
    expect(after).toEqual({
      'buyer USD': before['buyer USD']! - spentCents,
      'buyer ETH': before['buyer ETH']!,
      'buyer CARBON': before['buyer CARBON']! + carbonBought,
      'market USD': before['market USD']! + spentCents,
      'market ETH': before['market ETH']!,
      'market CARBON': before['market CARBON']! - carbonBought,
    });
    expect(after['buyer USD']).toBe(costCents - 1n);

    // The wallet never went below zero: each debit took exactly one purchase's cost off what was there.
    const debits = await userSql<{ amount: string; balance_after: string }[]>`
      select e.amount::text, e.balance_after::text from posting_entries e join wallets w on w.id = e.wallet_id
      where w.user_id = ${buyer.id} and w.currency = 'USD' and e.amount < 0 order by e.balance_after desc`;
    expect(debits.map((debit) => [BigInt(debit.amount), BigInt(debit.balance_after)])).toEqual(
      Array.from({ length: AFFORDABLE }, (_, index) => [-costCents, depositCents - BigInt(index + 1) * costCents]),
    );

    // The transaction subgraph recorded the same outcomes, and postings exist for the completed ones only.
    const records = await transactionSql<{ id: string; status: string; failure_code: string | null; usd_amount: string; price_per_tonne: string }[]>`
      select id, status, failure_code, usd_amount::text, price_per_tonne::text from transactions where type = 'PURCHASE'`;
    expect(new Map(records.map((record) => [record.id, record.status === 'COMPLETED' ? 'COMPLETED' : record.failure_code]))).toEqual(
      new Map(outcomes.map((outcome) => [outcome.id, outcome.answer])),
    );
    expect(new Set(records.map((record) => [BigInt(record.usd_amount), record.price_per_tonne.replace(/\.?0+$/, '')].join(' ')))).toEqual(new Set([`${costCents} ${price}`]));
    const postings = await userSql<{ id: string }[]>`select id from postings where kind = 'purchase'`;
    expect(new Set(postings.map((posting) => posting.id))).toEqual(new Set(completed.map((outcome) => outcome.id)));
    const totals = (await asAdmin(TOTALS, {})).ledgerSnapshot.totals as { total: string }[];
    expect(totals.every((total) => /^0\.0+$/.test(total.total))).toBe(true);

    // The same requests with the same keys, all at once again: the first answers, and nothing moves.
    const replays = (await send()).map((result) => {
      const transaction = result.data?.purchaseCarbonCredits as { id: string; status: string } | undefined;
      return { id: transaction?.id ?? errorOf(result)?.transactionId, answer: transaction?.status ?? errorOf(result)?.code };
    });
    expect(replays).toEqual(outcomes.map((outcome) => ({ id: outcome.id, answer: outcome.answer })));
    expect(await balances()).toEqual(after);

    console.log(
      `concurrent-purchases: ${purchases.length} purchases at once (${QUOTES_BY_TONNES} quoted by tonnes, ${QUOTES_BY_USD} by USD, ${AT_MARKET} at market) ` +
        `at ${price} USD/t, ${cents(costCents)} USD each, wallet ${cents(depositCents)} USD: ${completed.length} COMPLETED, ` +
        `${purchases.length - completed.length} INSUFFICIENT_FUNDS, ${cents(after['buyer USD']!)} USD left; replays unchanged; ${Date.now() - startedAtMs} ms`,
    );
  }, 60_000);
});
