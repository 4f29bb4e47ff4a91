import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { register } from '../../../test/support/people.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
/** The desk's stock in this file, as in the finding: a quote for 100,000,000 t was issued against 840 t. */
const MARKET_TONNES = '840';
let stack: Stack;
let adminToken: string;
const clients: Client[] = [];

interface Person {
  id: string;
  token: string;
}

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;
const PAY = /* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { id status } }`;
const QUOTE = /* GraphQL */ `mutation ($input: QuoteCarbonPurchaseInput!) { quoteCarbonPurchase(input: $input) { id tonnes } }`;
const PURCHASE = /* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) { purchaseCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`;
const TRANSACTION = /* GraphQL */ `query ($id: ID!) { transaction(id: $id) { id status failureCode failureMessage } }`;
const HISTORY = /* GraphQL */ `{ transactions(first: 100) { edges { node { id status failureMessage } } } }`;

async function person(name: string, role: 'BUYER' | 'SELLER' = 'BUYER'): Promise<Person> {
  return register(stack.gatewayUrl, name, { role });
}

async function deposit(to: Person, currency: string, amount: string) {
  const result = await stack.graphql(DEPOSIT, { input: { userId: to.id, currency, amount }, key: randomUUID() }, adminToken);
  expect(result.data?.deposit.status).toBe('COMPLETED');
}

/** Every balance on the platform, users and system accounts, in one snapshot. */
async function ledger(): Promise<string> {
  const result = await stack.graphql(/* GraphQL */ `{ ledgerSnapshot(first: 10000) { totals { currency total } accounts { walletId balance } } }`, {}, adminToken);
  return JSON.stringify(result.data!.ledgerSnapshot);
}

/** The ids of the transactionUpdated events `who` receives through the gateway, from now on. */
async function feedOf(who: Person): Promise<string[]> {
  const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${who.token}` } });
  clients.push(client);
  const ids: string[] = [];
  const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
  client.subscribe<{ transactionUpdated: { id: string } }>(
    { query: /* GraphQL */ `subscription { transactionUpdated { id } }` },
    { next: (message) => void (message.data && ids.push(message.data.transactionUpdated.id)), error: () => {}, complete: () => {} },
  );
  await connected;
  return ids;
}

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'price', 'transaction'], serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } } });
  adminToken = (await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN)).data!.login.token;
  const supply = await stack.graphql(/* GraphQL */ `mutation ($key: String!) { supplyMarket(input: { tonnes: "${MARKET_TONNES}" }, idempotencyKey: $key) { status } }`, { key: randomUUID() }, adminToken);
  expect(supply.data?.supplyMarket.status).toBe('COMPLETED');
  await waitFor(async () => (await stack.graphql(`{ price(symbol: MCO2) { stale } }`)).data?.price?.stale === false, { timeoutMs: 15_000, message: 'a fresh MCO2 price' });
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

describe('a refused transfer or payment is the payer’s business alone', () => {
  const cases: [string, 'BUYER' | 'SELLER', (payee: Person) => [string, Record<string, unknown>], string][] = [
    ['transfer', 'BUYER', (payee) => [TRANSFER, { input: { to: payee.id, currency: 'USD', amount: '1000.00' }, key: randomUUID() }], 'transfer'],
    ['payment', 'SELLER', (payee) => [PAY, { input: { sellerId: payee.id, currency: 'USD', amount: '1000.00', reference: 'INV-1' }, key: randomUUID() }], 'pay'],
  ];
  it.each(cases)('a refused %s: the payer sees why, the payee sees nothing of it in history, by id or on the feed', async (_kind, payeeRole, request, field) => {
    const [payer, payee] = [await person('Payer'), await person('Payee', payeeRole)];
    await deposit(payer, 'USD', '980.00');
    const feed = await feedOf(payee);
    const before = await ledger();
    const [query, variables] = request(payee);
    const refused = await stack.graphql(query, variables, payer.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
    const refusedId = refused.errors?.[0]?.extensions?.transactionId as string;
    expect(await ledger()).toBe(before);

    // The payer's own record keeps the reason, with the payer's own balance.
    const own = await stack.graphql(TRANSACTION, { id: refusedId }, payer.token);
    expect(own.data?.transaction).toEqual({ id: refusedId, status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS', failureMessage: 'Insufficient USD funds: the balance is 980.00' });

    // A completed one after it reaches the payee's feed; the refused one never did.
    const [completedQuery, completedVariables] = request(payee);
    const completed = await stack.graphql(completedQuery, { ...completedVariables, input: { ...(completedVariables.input as object), amount: '1.00' } }, payer.token);
    const completedId = completed.data?.[field].id as string;
    await waitFor(() => feed.includes(completedId), { timeoutMs: 10_000, message: 'the completed one on the payee’s feed' });
    expect(feed).toEqual([completedId]);
    const seen = await stack.graphql(TRANSACTION, { id: refusedId }, payee.token);
    expect(seen.data?.transaction).toBeNull();
    const history = await stack.graphql(HISTORY, {}, payee.token);
    expect(history.data?.transactions.edges.map((edge: { node: unknown }) => edge.node)).toEqual([{ id: completedId, status: 'COMPLETED', failureMessage: null }]);
    expect(JSON.stringify([seen, history])).not.toContain('980.00');
  });
});

describe('the market desk’s stock', () => {
  it('refuses a quote beyond the stock when it is asked for, by tonnes or by budget, saying how much there is', async () => {
    const buyer = await person('Quoter');
    const before = await ledger();
    const byTonnes = await stack.graphql(QUOTE, { input: { tonnes: '100000000' } }, buyer.token);
    expect(byTonnes.errors?.[0]?.extensions).toEqual({ code: 'INSUFFICIENT_FUNDS', currency: 'CARBON', field: 'tonnes' });
    expect(byTonnes.errors?.[0]?.message).toBe(`The market has only ${MARKET_TONNES} CARBON available`);
    const byBudget = await stack.graphql(QUOTE, { input: { usd: '100000000.00' } }, buyer.token);
    expect(byBudget.errors?.[0]?.extensions).toEqual({ code: 'INSUFFICIENT_FUNDS', currency: 'CARBON', field: 'usd' });
    const all = await stack.graphql(QUOTE, { input: { tonnes: MARKET_TONNES } }, buyer.token);
    expect(all.data?.quoteCarbonPurchase.tonnes).toBe(`${MARKET_TONNES}.000000000000000000`);
    expect(await ledger()).toBe(before);
  });

  it('refuses a purchase at market beyond the stock with the market’s stock, never as the buyer’s balance', async () => {
    const buyer = await person('Whale');
    await deposit(buyer, 'USD', '1000000.00');
    const before = await ledger();
    const result = await stack.graphql(PURCHASE, { input: { tonnes: '1000', maxPricePerTonne: '1000' }, key: randomUUID() }, buyer.token);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(result.errors?.[0]?.message).toBe(`The market has only ${MARKET_TONNES} CARBON available`);
    expect(await ledger()).toBe(before);
    const record = await stack.graphql(TRANSACTION, { id: result.errors?.[0]?.extensions?.transactionId }, buyer.token);
    expect(record.data?.transaction.failureMessage).toBe(`The market has only ${MARKET_TONNES} CARBON available`);
  });
});
