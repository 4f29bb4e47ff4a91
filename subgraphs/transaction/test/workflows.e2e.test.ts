import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import { decimalToScaled } from '../../../lib/decimal.js';
import { register } from '../../../test/support/people.js';
import { type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
let stack: Stack;
let adminToken: string;
let userSql: postgres.Sql;

const key = () => randomUUID();
interface Person {
  id: string;
  token: string;
  email: string;
}

async function person(name: string, role: 'BUYER' | 'SELLER' = 'BUYER'): Promise<Person> {
  return register(stack.gatewayUrl, name, { role });
}

async function deposit(to: Person, currency: string, amount: string) {
  const result = await stack.graphql(DEPOSIT, { input: { userId: to.id, currency, amount }, key: key() }, adminToken);
  expect(result.errors).toBeUndefined();
  return result.data!.deposit;
}

async function balances(who: Person): Promise<Record<string, string>> {
  const result = await stack.graphql(/* GraphQL */ `{ me { wallets { currency balance } } }`, {}, who.token);
  return Object.fromEntries(result.data!.me.wallets.map((wallet: { currency: string; balance: string }) => [wallet.currency, wallet.balance]));
}

/** Every balance on the platform, users and system accounts, in one snapshot. */
async function ledger(): Promise<string> {
  const result = await stack.graphql(/* GraphQL */ `{ ledgerSnapshot(first: 10000) { totals { currency total } accounts { walletId balance } } }`, {}, adminToken);
  return JSON.stringify(result.data!.ledgerSnapshot);
}

const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status amount to { id } } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) {
  transfer(input: $input, idempotencyKey: $key) { id type status amount currency memo from { id displayName } to { id displayName } } }`;
const PAY = /* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { id status reference to { id } } }`;
const QUOTE = /* GraphQL */ `mutation ($input: QuoteCarbonPurchaseInput!) { quoteCarbonPurchase(input: $input) { id tonnes pricePerTonne totalUsd expiresAt } }`;
const PURCHASE = /* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) {
  purchaseCarbonCredits(input: $input, idempotencyKey: $key) { id status purchase { tonnes pricePerTonne totalUsd } } }`;
const RETIRE = /* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) {
  retireCarbonCredits(input: $input, idempotencyKey: $key) { id status retirement { id tonnes kilograms beneficiary message retiredAt } } }`;

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'price', 'transaction'], serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, transaction: { QUOTE_TTL_SECONDS: '2' } } });
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  adminToken = login.data!.login.token;
  userSql = postgres(stack.subgraphs.user!.databaseUrl, { max: 2, onnotice: () => {} });
  const supply = await stack.graphql(/* GraphQL */ `mutation ($key: String!) { supplyMarket(input: { tonnes: "100000" }, idempotencyKey: $key) { status } }`, { key: key() }, adminToken);
  expect(supply.data?.supplyMarket.status).toBe('COMPLETED');
  await waitFor(async () => (await stack.graphql(`{ price(symbol: MCO2) { stale } }`)).data?.price?.stale === false, { timeoutMs: 15_000, message: 'a fresh MCO2 price' });
}, 60_000);

afterAll(async () => {
  await userSql?.end();
  await stack?.stop();
});

describe('transfers and payments', () => {
  it('moves money between two users by id or email, and both see it with names resolved by the user subgraph', async () => {
    const [ana, ben] = [await person('Ana'), await person('Ben')];
    await deposit(ana, 'USD', '50.00');
    const byId = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '12.50', memo: 'lunch' }, key: key() }, ana.token);
    expect(byId.data?.transfer).toMatchObject({ type: 'TRANSFER', status: 'COMPLETED', amount: '12.50', currency: 'USD', memo: 'lunch', from: { displayName: 'Ana' }, to: { displayName: 'Ben' } });
    const byEmail = await stack.graphql(TRANSFER, { input: { to: ben.email.toUpperCase(), currency: 'USD', amount: '0.50' }, key: key() }, ana.token);
    expect(byEmail.data?.transfer.status).toBe('COMPLETED');
    expect(await balances(ana)).toMatchObject({ USD: '37.00' });
    expect(await balances(ben)).toMatchObject({ USD: '13.00' });
    const seen = await stack.graphql(/* GraphQL */ `query ($id: ID!) { transaction(id: $id) { id from { displayName } } }`, { id: byId.data!.transfer.id }, ben.token);
    expect(seen.data?.transaction.from.displayName).toBe('Ana');
  });

  it('lets a buyer pay a seller with a reference the seller sees, and refuses paying a buyer', async () => {
    const [buyer, seller, other] = [await person('Buyer'), await person('Seller', 'SELLER'), await person('Other')];
    await deposit(buyer, 'USD', '20.00');
    const paid = await stack.graphql(PAY, { input: { sellerId: seller.id, currency: 'USD', amount: '5.00', reference: 'INV-42' }, key: key() }, buyer.token);
    expect(paid.data?.pay).toMatchObject({ status: 'COMPLETED', reference: 'INV-42', to: { id: seller.id } });
    const history = await stack.graphql(/* GraphQL */ `{ transactions(first: 5) { edges { node { type reference amount } } } }`, {}, seller.token);
    expect(history.data?.transactions.edges.map((edge: { node: unknown }) => edge.node)).toEqual([{ type: 'PAYMENT', reference: 'INV-42', amount: '5.00' }]);
    const toBuyer = await stack.graphql(PAY, { input: { sellerId: other.id, currency: 'USD', amount: '1.00', reference: 'x' }, key: key() }, buyer.token);
    expect(toBuyer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sellerId' });
  });

  it('answers a replay with the first result, and refuses the same key for a different request', async () => {
    const [ana, ben] = [await person('Rita'), await person('Sam')];
    await deposit(ana, 'USD', '10.00');
    const idempotencyKey = key();
    const first = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '1.00' }, key: idempotencyKey }, ana.token);
    const again = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '1.00' }, key: idempotencyKey }, ana.token);
    expect(again.data?.transfer.id).toBe(first.data?.transfer.id);
    expect(await balances(ana)).toMatchObject({ USD: '9.00' });
    const before = await ledger();
    const reused = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '2.00' }, key: idempotencyKey }, ana.token);
    expect(reused.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await ledger()).toBe(before);
    // Keys belong to the caller: another user may use the same string.
    await deposit(ben, 'USD', '1.00');
    const othersKey = await stack.graphql(TRANSFER, { input: { to: ana.id, currency: 'USD', amount: '1.00' }, key: idempotencyKey }, ben.token);
    expect(othersKey.data?.transfer.status).toBe('COMPLETED');
  });

  it('records an overdraft as FAILED with INSUFFICIENT_FUNDS, moves nothing, and answers a replay the same way', async () => {
    const [ana, ben] = [await person('Poor'), await person('Rich')];
    await deposit(ana, 'USD', '1.00');
    const before = await ledger();
    const idempotencyKey = key();
    const attempt = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '1.01' }, key: idempotencyKey }, ana.token);
    expect(attempt.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
    const transactionId = attempt.errors?.[0]?.extensions?.transactionId as string;
    expect(await ledger()).toBe(before);
    const failed = await stack.graphql(/* GraphQL */ `query ($id: ID!) { transaction(id: $id) { status failureCode } }`, { id: transactionId }, ana.token);
    expect(failed.data?.transaction).toEqual({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' });
    const replay = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '1.01' }, key: idempotencyKey }, ana.token);
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_FUNDS', transactionId });
  });
});

describe('bad input is refused with a code and changes nothing', () => {
  let ana: Person;
  let ben: Person;
  beforeAll(async () => {
    [ana, ben] = [await person('Ana2'), await person('Ben2', 'SELLER')];
    await deposit(ana, 'USD', '100.00');
  });

  const transferCases: [string, Record<string, unknown>, string, string?][] = [
    ['a zero amount', { currency: 'USD', amount: '0' }, 'BAD_USER_INPUT'],
    ['a negative amount', { currency: 'USD', amount: '-5.00' }, 'BAD_USER_INPUT'],
    ['an exponent', { currency: 'USD', amount: '1e2' }, 'BAD_USER_INPUT'],
    ['too many decimals', { currency: 'USD', amount: '1.001' }, 'BAD_USER_INPUT'],
    ['a non-numeric amount', { currency: 'USD', amount: 'ten' }, 'BAD_USER_INPUT'],
    ['an absurdly large amount', { currency: 'USD', amount: '9'.repeat(60) }, 'BAD_USER_INPUT'],
    ['a float amount', { currency: 'USD', amount: 12.5 }, 'BAD_USER_INPUT'],
    ['an unknown currency', { currency: 'EUR', amount: '1.00' }, 'BAD_USER_INPUT'],
    ['a memo over 200 characters', { currency: 'USD', amount: '1.00', memo: 'x'.repeat(201) }, 'BAD_USER_INPUT'],
  ];
  it.each(transferCases)('refuses a transfer with %s', async (_name, fields, code) => {
    const before = await ledger();
    const result = await stack.graphql(TRANSFER, { input: { to: ben.id, ...fields }, key: key() }, ana.token);
    expect(result.errors?.[0]?.extensions?.code).toBe(code);
    expect(await ledger()).toBe(before);
  });

  it('refuses a transfer to oneself, to nobody, and with a missing, empty or over-long idempotency key', async () => {
    const before = await ledger();
    const cases: [Record<string, unknown>, string][] = [
      [{ input: { to: ana.id, currency: 'USD', amount: '1.00' }, key: key() }, 'BAD_USER_INPUT'],
      [{ input: { to: ana.email, currency: 'USD', amount: '1.00' }, key: key() }, 'BAD_USER_INPUT'],
      [{ input: { to: randomUUID(), currency: 'USD', amount: '1.00' }, key: key() }, 'NOT_FOUND'],
      [{ input: { to: 'nobody@example.com', currency: 'USD', amount: '1.00' }, key: key() }, 'NOT_FOUND'],
      [{ input: { to: ben.id, currency: 'USD', amount: '1.00' }, key: '' }, 'BAD_USER_INPUT'],
      [{ input: { to: ben.id, currency: 'USD', amount: '1.00' }, key: 'k'.repeat(256) }, 'BAD_USER_INPUT'],
      [{ input: { to: ben.id, currency: 'USD', amount: '1.00' } }, 'BAD_USER_INPUT'],
    ];
    for (const [variables, code] of cases) {
      const result = await stack.graphql(TRANSFER, variables, ana.token);
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(variables)).toBe(code);
    }
    expect(await ledger()).toBe(before);
    const stored = await stack.graphql(/* GraphQL */ `{ transactions(first: 100, filter: { status: FAILED }) { edges { node { id } } } }`, {}, ana.token);
    expect(stored.data?.transactions.edges).toEqual([]);
  });

  it('refuses deposits from a BUYER (no faucet outside development) and when signed out', async () => {
    const before = await ledger();
    const byBuyer = await stack.graphql(DEPOSIT, { input: { userId: ana.id, currency: 'USD', amount: '1.00' }, key: key() }, ana.token);
    expect(byBuyer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const signedOut = await stack.graphql(DEPOSIT, { input: { userId: ana.id, currency: 'USD', amount: '1.00' }, key: key() });
    expect(signedOut.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const supply = await stack.graphql(/* GraphQL */ `mutation { supplyMarket(input: { tonnes: "1" }, idempotencyKey: "k") { id } }`, {}, ana.token);
    expect(supply.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await ledger()).toBe(before);
  });
});

describe('carbon credits', () => {
  it('quotes tonnes at the market price and charges the total rounded up by less than one cent', async () => {
    const buyer = await person('Carbon');
    await deposit(buyer, 'USD', '100.00');
    const quote = (await stack.graphql(QUOTE, { input: { tonnes: '3.333333333333333333' } }, buyer.token)).data!.quoteCarbonPurchase;
    const exactCentsTimes1e36 = decimalToScaled('3.333333333333333333') * decimalToScaled(quote.pricePerTonne) * 100n;
    const charged = decimalToScaled(quote.totalUsd, 2) * 10n ** 36n;
    // The platform's favour: never below the exact cost, and less than one cent above it.
    expect(charged >= exactCentsTimes1e36).toBe(true);
    expect(charged - exactCentsTimes1e36 < 10n ** 36n).toBe(true);
    const bought = await stack.graphql(PURCHASE, { input: { quoteId: quote.id }, key: key() }, buyer.token);
    expect(bought.data?.purchaseCarbonCredits).toMatchObject({ status: 'COMPLETED', purchase: { tonnes: '3.333333333333333333', totalUsd: quote.totalUsd } });
    const expectedUsd = (10_000n - decimalToScaled(quote.totalUsd, 2)).toString();
    expect(await balances(buyer)).toMatchObject({ USD: `${expectedUsd.slice(0, -2)}.${expectedUsd.slice(-2)}`, CARBON: '3.333333333333333333' });
  });

  it('quotes a USD budget, giving the tonnes it buys rounded down by less than one minor unit', async () => {
    const buyer = await person('Budget');
    const quote = (await stack.graphql(QUOTE, { input: { usd: '10.00' } }, buyer.token)).data!.quoteCarbonPurchase;
    expect(quote.totalUsd).toBe('10.00');
    const tonnesScaled = decimalToScaled(quote.tonnes);
    const priceScaled = decimalToScaled(quote.pricePerTonne);
    // tonnes × price ≤ 10.00 USD < (tonnes + 1 minor unit) × price
    expect(tonnesScaled * priceScaled <= 10n * 10n ** 36n).toBe(true);
    expect((tonnesScaled + 1n) * priceScaled > 10n * 10n ** 36n).toBe(true);
  });

  it('refuses an expired quote, someone else’s quote, a used quote, and a quote with both or neither of tonnes and usd', async () => {
    const [buyer, other] = [await person('Quoter'), await person('Thief')];
    await deposit(buyer, 'USD', '100.00');
    await deposit(other, 'USD', '100.00');
    const quote = (await stack.graphql(QUOTE, { input: { tonnes: '1' } }, buyer.token)).data!.quoteCarbonPurchase;
    const before = await ledger();
    const foreign = await stack.graphql(PURCHASE, { input: { quoteId: quote.id }, key: key() }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const both = await stack.graphql(QUOTE, { input: { tonnes: '1', usd: '1.00' } }, buyer.token);
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const neither = await stack.graphql(QUOTE, { input: {} }, buyer.token);
    expect(neither.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // Quotes live QUOTE_TTL_SECONDS (2 s in this test): wait until this one is past its expiry.
    await waitFor(() => Date.now() > Date.parse(quote.expiresAt) + 50, { timeoutMs: 5_000, message: 'the quote to expire' });
    const expired = await stack.graphql(PURCHASE, { input: { quoteId: quote.id }, key: key() }, buyer.token);
    expect(expired.errors?.[0]?.extensions?.code).toBe('QUOTE_EXPIRED');
    expect(await ledger()).toBe(before);

    const fresh = (await stack.graphql(QUOTE, { input: { tonnes: '1' } }, buyer.token)).data!.quoteCarbonPurchase;
    const firstKey = key();
    expect((await stack.graphql(PURCHASE, { input: { quoteId: fresh.id }, key: firstKey }, buyer.token)).data?.purchaseCarbonCredits.status).toBe('COMPLETED');
    const usedAgain = await stack.graphql(PURCHASE, { input: { quoteId: fresh.id }, key: key() }, buyer.token);
    expect(usedAgain.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quoteId' });
    await waitFor(() => Date.now() > Date.parse(fresh.expiresAt) + 50, { timeoutMs: 5_000, message: 'the used quote to expire' });
    const replay = await stack.graphql(PURCHASE, { input: { quoteId: fresh.id }, key: firstKey }, buyer.token);
    expect(replay.data?.purchaseCarbonCredits.status).toBe('COMPLETED');
  });

  it('buys at the market price only up to maxPricePerTonne', async () => {
    const buyer = await person('Limit');
    await deposit(buyer, 'USD', '100.00');
    const before = await ledger();
    const tooLow = await stack.graphql(PURCHASE, { input: { tonnes: '1', maxPricePerTonne: '0.000001' }, key: key() }, buyer.token);
    expect(tooLow.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTE_EXPIRED', reason: 'PRICE_ABOVE_LIMIT' });
    expect(await ledger()).toBe(before);
    const ok = await stack.graphql(PURCHASE, { input: { tonnes: '2', maxPricePerTonne: '1000' }, key: key() }, buyer.token);
    expect(ok.data?.purchaseCarbonCredits).toMatchObject({ status: 'COMPLETED', purchase: { tonnes: '2.000000000000000000' } });
  });

  it('retires carbon credits into a certificate record, in tonnes and kilograms', async () => {
    const buyer = await person('Retirer');
    await deposit(buyer, 'CARBON', '2.5');
    const retired = await stack.graphql(RETIRE, { input: { amount: '1.25', beneficiary: '  Acme Ltd  ', message: 'Offsetting 2026 travel' }, key: key() }, buyer.token);
    expect(retired.data?.retireCarbonCredits).toMatchObject({
      status: 'COMPLETED',
      retirement: { tonnes: '1.250000000000000000', kilograms: '1250', beneficiary: 'Acme Ltd', message: 'Offsetting 2026 travel' },
    });
    expect(await balances(buyer)).toMatchObject({ CARBON: '1.250000000000000000' });
    const listed = await stack.graphql(/* GraphQL */ `{ me { retirements { edges { node { tonnes beneficiary } } } } }`, {}, buyer.token);
    expect(listed.data?.me.retirements.edges).toEqual([{ node: { tonnes: '1.250000000000000000', beneficiary: 'Acme Ltd' } }]);
    const overdraw = await stack.graphql(RETIRE, { input: { amount: '5', beneficiary: 'Acme' }, key: key() }, buyer.token);
    expect(overdraw.errors?.[0]?.extensions?.code).toBe('INSUFFICIENT_FUNDS');
    const noBeneficiary = await stack.graphql(RETIRE, { input: { amount: '1', beneficiary: ' ' }, key: key() }, buyer.token);
    expect(noBeneficiary.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'beneficiary' });
    // 65 characters, 130 bytes: more than the certificate on chain holds.
    const longBeneficiary = await stack.graphql(RETIRE, { input: { amount: '1', beneficiary: 'é'.repeat(65) }, key: key() }, buyer.token);
    expect(longBeneficiary.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'beneficiary' });
  });
});

describe('reading history', () => {
  it('pages newest first with cursors, filters, and refuses bad cursors and page sizes', async () => {
    const [ana, ben] = [await person('Pager'), await person('Paged')];
    await deposit(ana, 'USD', '10.00');
    for (const amount of ['1.00', '2.00', '3.00']) await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount }, key: key() }, ana.token);
    const PAGE = /* GraphQL */ `query ($first: Int!, $after: String, $filter: TransactionFilter) {
      transactions(first: $first, after: $after, filter: $filter) { edges { cursor node { type amount } } pageInfo { hasNextPage endCursor } } }`;
    const first = await stack.graphql(PAGE, { first: 2 }, ana.token);
    expect(first.data?.transactions.edges.map((edge: { node: { amount: string } }) => edge.node.amount)).toEqual(['3.00', '2.00']);
    expect(first.data?.transactions.pageInfo.hasNextPage).toBe(true);
    const second = await stack.graphql(PAGE, { first: 2, after: first.data?.transactions.pageInfo.endCursor }, ana.token);
    expect(second.data?.transactions.edges.map((edge: { node: { amount: string } }) => edge.node.amount)).toEqual(['1.00', '10.00']);
    expect(second.data?.transactions.pageInfo.hasNextPage).toBe(false);
    const deposits = await stack.graphql(PAGE, { first: 10, filter: { type: 'DEPOSIT' } }, ana.token);
    expect(deposits.data?.transactions.edges).toHaveLength(1);
    expect((await stack.graphql(PAGE, { first: 101 }, ana.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await stack.graphql(PAGE, { first: 2, after: 'not-a-cursor' }, ana.token)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('shows a transaction to its parties only, and one user’s history to nobody else', async () => {
    const [ana, ben, eve] = [await person('Ana3'), await person('Ben3'), await person('Eve3')];
    await deposit(ana, 'USD', '5.00');
    const transfer = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '1.00' }, key: key() }, ana.token);
    const id = transfer.data!.transfer.id;
    const byEve = await stack.graphql(/* GraphQL */ `query ($id: ID!) { transaction(id: $id) { id amount } }`, { id }, eve.token);
    expect(byEve.data?.transaction).toBeNull();
    const credential = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'gateway', identity: { userId: eve.id, role: 'BUYER' } });
    const entities = await fetch(stack.subgraphs.transaction!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: credential },
      body: JSON.stringify({
        query: /* GraphQL */ `query ($r: [_Any!]!) { _entities(representations: $r) { ... on Transaction { id amount } ... on User { transactions { edges { node { id } } } } } }`,
        variables: { r: [{ __typename: 'Transaction', id }, { __typename: 'User', id: ana.id }] },
      }),
    }).then((response) => response.json() as Promise<{ data: { _entities: unknown[] }; errors?: { extensions: { code: string } }[] }>);
    expect(entities.data._entities).toEqual([null, null]);
    expect(entities.errors?.map((error) => error.extensions.code)).toEqual(['FORBIDDEN']);
  });
});

describe('transactionUpdated', () => {
  it('tells the receiver of a transfer, and not a bystander', async () => {
    const [ana, ben, eve] = [await person('Sender'), await person('Receiver'), await person('Bystander')];
    await deposit(ana, 'USD', '5.00');
    const subscribe = async (who: Person, seen: unknown[]) => {
      const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);
      const client = createClient({
        url: stack.subgraphs.transaction!.url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: async () => ({ [INTERNAL_CREDENTIAL_HEADER]: await credential.mint({ kind: 'gateway', identity: { userId: who.id, role: 'BUYER' } }) }),
        retryAttempts: 0,
      });
      const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
      client.subscribe({ query: /* GraphQL */ `subscription { transactionUpdated { id status amount to { id } } }` }, { next: (message) => void seen.push(message.data?.transactionUpdated), error: () => {}, complete: () => {} });
      await connected;
      return client;
    };
    const received: unknown[] = [];
    const bystander: unknown[] = [];
    const clients = [await subscribe(ben, received), await subscribe(eve, bystander)];
    try {
      const transfer = await stack.graphql(TRANSFER, { input: { to: ben.id, currency: 'USD', amount: '2.00' }, key: key() }, ana.token);
      const update = await waitFor(() => received.find((item) => (item as { id: string }).id === transfer.data?.transfer.id), { timeoutMs: 10_000, message: 'the receiver’s update' });
      expect(update).toEqual({ id: transfer.data?.transfer.id, status: 'COMPLETED', amount: '2.00', to: { id: ben.id } });
      expect(bystander).toEqual([]);
    } finally {
      for (const client of clients) await client.dispose();
    }
  });
});
