import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAmount, parseAmount } from '../../lib/money.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import {
  ConvertDocument,
  createEcoCoinClient,
  DepositDocument,
  type EcoCoinClient,
  LoginDocument,
  MeDocument,
  PriceDocument,
  PriceUpdatedDocument,
  PurchaseCarbonCreditsDocument,
  QuoteCarbonPurchaseDocument,
  RegisterDocument,
  SupplyMarketDocument,
  TransactionsDocument,
  WalletUpdatedDocument,
} from '../index.js';
import { rejection } from '../../test/support/sdk.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
let stack: Stack;
const clients: EcoCoinClient[] = [];

function client(token?: string): EcoCoinClient {
  const created = createEcoCoinClient({ url: stack.gatewayUrl, token });
  clients.push(created);
  return created;
}

async function registeredBuyer(name: string) {
  const buyer = client();
  const { register } = await buyer.request(RegisterDocument, {
    input: { email: `${name}-${randomUUID().slice(0, 8)}@example.com`, password: 'correct horse battery', displayName: name, role: 'BUYER' },
  });
  buyer.setToken(register.token);
  return { buyer, user: register.user };
}


beforeAll(async () => {
  stack = await startStack({
    services: ['user', 'price', 'transaction'],
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_POLL_INTERVAL_MS: '300' }, transaction: { DEV_FAUCET: 'true' } },
  });
  const admin = client();
  admin.setToken((await admin.request(LoginDocument, ADMIN)).login.token);
  const supply = await admin.request(SupplyMarketDocument, { input: { tonnes: '1000' }, idempotencyKey: randomUUID() });
  expect(supply.supplyMarket.status).toBe('COMPLETED');
}, 60_000);

afterAll(async () => {
  for (const each of clients) await each.dispose();
  await stack?.stop();
});

describe('the typed SDK against the gateway', () => {
  it('registers a buyer, deposits USD with the faucet, buys carbon credits at a quote and finds both in the history', async () => {
    const { buyer, user } = await registeredBuyer('Ada');
    expect(user.wallets.map((wallet) => [wallet.currency, wallet.balance])).toEqual([
      ['USD', '0.00'],
      ['ETH', '0.000000000000000000'],
      ['CARBON', '0.000000000000000000'],
    ]);
    const { deposit } = await buyer.request(DepositDocument, { input: { userId: user.id, currency: 'USD', amount: '100.00' }, idempotencyKey: randomUUID() });
    expect(deposit).toMatchObject({ type: 'DEPOSIT', status: 'COMPLETED', amount: '100.00', to: { id: user.id, displayName: 'Ada' } });
    const { quoteCarbonPurchase: quote } = await buyer.request(QuoteCarbonPurchaseDocument, { input: { usd: '10.00' } });
    expect(parseAmount(quote.totalUsd, 'USD')).toBeLessThanOrEqual(1000n);
    const { purchaseCarbonCredits: purchase } = await buyer.request(PurchaseCarbonCreditsDocument, { input: { quoteId: quote.id }, idempotencyKey: randomUUID() });
    expect(purchase).toMatchObject({ type: 'PURCHASE', status: 'COMPLETED', purchase: { tonnes: quote.tonnes, totalUsd: quote.totalUsd, pricePerTonne: quote.pricePerTonne } });
    const { transactions } = await buyer.request(TransactionsDocument, { first: 10 });
    expect(transactions.edges.map((edge) => [edge.node.type, edge.node.id])).toEqual([
      ['PURCHASE', purchase.id],
      ['DEPOSIT', deposit.id],
    ]);
    expect(transactions.pageInfo.hasNextPage).toBe(false);
    const { me } = await buyer.request(MeDocument);
    const balanceOf = (currency: string) => me.wallets.find((wallet) => wallet.currency === currency)?.balance;
    expect(balanceOf('USD')).toBe(formatAmount(10_000n - parseAmount(quote.totalUsd, 'USD'), 'USD'));
    expect(balanceOf('CARBON')).toBe(quote.tonnes);
  });
  it('answers prices and conversions without a token', async () => {
    const anonymous = client();
    const { price } = await anonymous.request(PriceDocument, { symbol: 'MCO2' });
    expect(price).toMatchObject({ symbol: 'MCO2', vs: 'USD', source: 'SIMULATED' });
    const { convert } = await anonymous.request(ConvertDocument, { amount: '1', from: 'CARBON', to: 'USD' });
    expect(convert.result).toMatch(/^\d+\.\d{2}$/);
  });
  it('delivers priceUpdated ticks over the WebSocket, signed in with the token in connectionParams', async () => {
    const { buyer } = await registeredBuyer('Watcher');
    const ticks = buyer.subscribe(PriceUpdatedDocument, { symbol: 'MCO2' });
    const first = await ticks.next();
    await ticks.return?.();
    expect(first.done).toBe(false);
    const tick = first.value as Exclude<typeof first.value, undefined>;
    expect(tick.errors).toEqual([]);
    expect(tick.data.priceUpdated).toMatchObject({ symbol: 'MCO2', vs: 'USD', source: 'SIMULATED' });
    expect(tick.data.priceUpdated.value).toMatch(/^\d+(\.\d+)?$/);
  });
  it('delivers priceUpdated ticks without a token, as a landing page would', async () => {
    const ticks = client().subscribe(PriceUpdatedDocument, { symbol: 'MCO2' });
    const first = await ticks.next();
    await ticks.return?.();
    expect(first.done).toBe(false);
    expect((first.value as Exclude<typeof first.value, undefined>).data.priceUpdated).toMatchObject({ symbol: 'MCO2', vs: 'USD' });
  });
  it('ends a quiet subscription at once when the caller stops, even while it waits for an event', async () => {
    const { buyer } = await registeredBuyer('Quiet');
    const updates = buyer.subscribe(WalletUpdatedDocument);
    const waiting = updates.next();
    await updates.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });
});

describe('errors from the SDK', () => {
  it('refuses a bad Amount with BAD_USER_INPUT naming the field, and stores nothing', async () => {
    const { buyer, user } = await registeredBuyer('Careless');
    const tooPrecise = await rejection(buyer.request(DepositDocument, { input: { userId: user.id, currency: 'USD', amount: '12.345' }, idempotencyKey: randomUUID() }));
    expect(tooPrecise).toMatchObject({ code: 'BAD_USER_INPUT', field: 'amount' });
    expect(tooPrecise.message).toMatch(/more than 2 decimals/);
    const exponent = await rejection(buyer.request(DepositDocument, { input: { userId: user.id, currency: 'USD', amount: '1e3' }, idempotencyKey: randomUUID() }));
    expect(exponent.code).toBe('BAD_USER_INPUT');
    expect((await buyer.request(TransactionsDocument)).transactions.edges).toEqual([]);
  });
  it('says UNAUTHENTICATED to a request and to a subscription without a token', async () => {
    const anonymous = client();
    expect((await rejection(anonymous.request(MeDocument))).code).toBe('UNAUTHENTICATED');
    // The connection itself is open to visitors (public prices); a personal feed on it is refused.
    const updates = anonymous.subscribe(WalletUpdatedDocument);
    expect(await rejection(updates.next())).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

});
