import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { USER_LOOKUP_PATH } from '../../lib/users/lookup.js';
import { register } from '../../test/support/people.js';
import { type GraphQLResult, NOWHERE_URL, type Stack, startStack, TEST_SECRETS } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
let stack: Stack;
let adminToken: string;
const clients: Client[] = [];

interface Person {
  id: string;
  token: string;
  email: string;
}

/** Raw, for the refusals of bad input; test/support/people.ts registers everyone else. */
const REGISTER = /* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token user { id } } }`;
const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { status memo } }`;
const PAY = /* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { status } }`;
const RETIRE = /* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) { retireCarbonCredits(input: $input, idempotencyKey: $key) { status } }`;

async function person(name: string, role: 'BUYER' | 'SELLER' = 'BUYER'): Promise<Person> {
  return register(stack.gatewayUrl, name, { role });
}

/** Every balance on the platform, users and system accounts, in one snapshot. */
async function ledger(): Promise<string> {
  const result = await stack.graphql(/* GraphQL */ `{ ledgerSnapshot(first: 10000) { totals { currency total } accounts { walletId balance } } }`, {}, adminToken);
  return JSON.stringify(result.data!.ledgerSnapshot);
}

/** The gateway's request counter, by outcome, summed over operations. */
async function outcomes(): Promise<Record<string, number>> {
  const text = await (await fetch(stack.gateway.metricsUrl)).text();
  const counts: Record<string, number> = {};
  for (const [, outcome, value] of text.matchAll(/^ecocoin_graphql_requests_total\{[^}]*outcome="(\w+)"[^}]*\} (\d+)/gm)) counts[outcome!] = (counts[outcome!] ?? 0) + Number(value);
  return counts;
}

function refusal(result: GraphQLResult) {
  return { status: result.status, ...(result.errors?.[0]?.extensions ?? {}) };
}

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'price', 'transaction', 'notification'], serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } } });
  adminToken = (await stack.graphql(LOGIN, ADMIN)).data!.login.token;
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

describe('a bad value written inline in the document', () => {
  const cases: [string, string, string][] = [
    ['an Amount with an exponent', /* GraphQL */ `{ convert(amount: "1e3", from: USD, to: CARBON) { result } }`, 'amount'],
    ['an Amount as a number', /* GraphQL */ `{ convert(amount: 5, from: USD, to: CARBON) { result } }`, 'amount'],
    ['a DateTime that is a word', /* GraphQL */ `{ priceHistory(symbol: MCO2, from: "yesterday", interval: HOUR) { open } }`, 'from'],
    ['a DateTime in year 0', /* GraphQL */ `{ priceHistory(symbol: MCO2, from: "0000-01-01T00:00:00Z", interval: DAY) { open } }`, 'from'],
    ['a DateTime on 30 February', /* GraphQL */ `{ transactions(first: 5, filter: { from: "2026-02-30T00:00:00Z" }) { edges { node { id } } } }`, 'from'],
    ['a DateTime in year 0 in a filter', /* GraphQL */ `{ transactions(first: 5, filter: { from: "0000-01-01T00:00:00Z" }) { edges { node { id } } } }`, 'from'],
    ['a Decimal with 25 decimals', /* GraphQL */ `mutation { createPriceAlert(input: { symbol: MCO2, direction: ABOVE, threshold: "1.1234567890123456789012345" }) { id } }`, 'threshold'],
  ];
  it.each(cases)('refuses %s at the gateway with GRAPHQL_VALIDATION_FAILED naming the field, counted as the client’s', async (_name, query, field) => {
    const { token } = await person('Inline');
    const before = await outcomes();
    const result = await stack.graphql(query, {}, token);
    expect(refusal(result)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', field });
    expect(result.errors?.[0]?.message).toMatch(new RegExp(`^${field}: `));
    const after = await outcomes();
    expect(after.client_error).toBe((before.client_error ?? 0) + 1);
    expect(after.server_error ?? 0).toBe(before.server_error ?? 0);
  });

  it('refuses a bad Amount inline in a transfer, and the ledger does not move', async () => {
    const [ana, ben] = [await person('Ana'), await person('Ben')];
    await stack.graphql(DEPOSIT, { input: { userId: ana.id, currency: 'USD', amount: '100.00' }, key: randomUUID() }, adminToken);
    const before = await ledger();
    // Not an Amount at all: refused by the scalar at the gateway. An Amount the currency or the workflow does
    // not take (too many cents, negative): refused by the resolver, which knows the currency.
    const cases: [string, Record<string, unknown>][] = [
      ['"1e3"', { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', field: 'amount' }],
      ['5', { status: 400, code: 'GRAPHQL_VALIDATION_FAILED', field: 'amount' }],
      ['"1.001"', { status: 200, code: 'BAD_USER_INPUT', field: 'amount' }],
      ['"-1.00"', { status: 200, code: 'BAD_USER_INPUT', field: 'amount' }],
    ];
    for (const [amount, expected] of cases) {
      const result = await stack.graphql(`mutation { transfer(input: { to: "${ben.id}", currency: USD, amount: ${amount} }, idempotencyKey: "${randomUUID()}") { id } }`, {}, ana.token);
      expect(refusal(result), amount).toMatchObject(expected);
    }
    expect(await ledger()).toBe(before);
  });

  it('gives the same value as a variable BAD_USER_INPUT', async () => {
    const result = await stack.graphql(/* GraphQL */ `query ($from: DateTime!) { priceHistory(symbol: MCO2, from: $from, interval: DAY) { open } }`, { from: '0000-01-01T00:00:00Z' });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toMatch(/years 1 and 9999/);
  });

  it('still answers UPSTREAM_UNAVAILABLE, counted as a server error, when a subgraph does not answer', async () => {
    const gateway = await stack.startGateway({ PRICE_SUBGRAPH_URL: NOWHERE_URL });
    try {
      const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ price(symbol: MCO2) { value } }' }) });
      const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
      expect(body.errors[0]?.extensions).toEqual({ code: 'UPSTREAM_UNAVAILABLE' });
      const metrics = await (await fetch(gateway.metricsUrl)).text();
      expect(metrics).toMatch(/ecocoin_graphql_requests_total\{[^}]*outcome="server_error"[^}]*\} 1/);
    } finally {
      await gateway.stop();
    }
  });
});

describe('choosing the operation', () => {
  async function post(body: Record<string, unknown>) {
    const response = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResult, 'status'>) };
  }

  it('refuses two operations without operationName with 400 OPERATION_RESOLUTION_FAILURE', async () => {
    const result = await post({ query: 'query A { __typename } query B { __typename }' });
    expect(refusal(result)).toEqual({ status: 400, code: 'OPERATION_RESOLUTION_FAILURE' });
    expect(result.errors?.[0]?.message).toMatch(/2 operations: name the one to run in operationName/);
  });

  it('refuses an unknown operationName with 400 OPERATION_RESOLUTION_FAILURE, and runs a known one', async () => {
    const unknown = await post({ query: 'query A { __typename } query B { __typename }', operationName: 'C' });
    expect(refusal(unknown)).toEqual({ status: 400, code: 'OPERATION_RESOLUTION_FAILURE' });
    expect(unknown.errors?.[0]?.message).toMatch(/no operation named "C"/);
    const known = await post({ query: 'query A { __typename } query B { __typename }', operationName: 'B' });
    expect(known).toEqual({ status: 200, data: { __typename: 'Query' } });
  });

  it('refuses two subscriptions without operationName over the socket with OPERATION_RESOLUTION_FAILURE', async () => {
    const { token } = await person('Socket');
    const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    const errors: unknown[] = [];
    client.subscribe(
      { query: 'subscription A { priceUpdated(symbol: MCO2) { value } } subscription B { priceUpdated(symbol: ETH) { value } }' },
      { next: () => {}, error: (error) => void errors.push(error), complete: () => {} },
    );
    const [refused] = await waitFor(() => errors.length > 0 && errors, { timeoutMs: 5_000, message: 'the refusal' });
    expect((refused as { extensions: unknown }[])[0]?.extensions).toEqual({ code: 'OPERATION_RESOLUTION_FAILURE' });
  });
});

describe('text with control characters is refused at each subgraph’s edge', () => {
  let ana: Person;
  let seller: Person;
  beforeAll(async () => {
    [ana, seller] = [await person('Writer'), await person('Shop', 'SELLER')];
    await stack.graphql(DEPOSIT, { input: { userId: ana.id, currency: 'USD', amount: '100.00' }, key: randomUUID() }, adminToken);
    await stack.graphql(/* GraphQL */ `mutation ($key: String!) { supplyMarket(input: { tonnes: "100" }, idempotencyKey: $key) { status } }`, { key: randomUUID() }, adminToken);
  });

  const money: [string, () => [string, Record<string, unknown>], string][] = [
    ['a NUL in a memo', () => [TRANSFER, { input: { to: seller.id, currency: 'USD', amount: '1.00', memo: 'lunch\u0000' }, key: randomUUID() }], 'memo'],
    ['an escape character in a memo', () => [TRANSFER, { input: { to: seller.id, currency: 'USD', amount: '1.00', memo: '\u001b[31mred' }, key: randomUUID() }], 'memo'],
    ['a lone surrogate in a memo', () => [TRANSFER, { input: { to: seller.id, currency: 'USD', amount: '1.00', memo: 'half \ud800' }, key: randomUUID() }], 'memo'],
    ['a NUL in an idempotency key', () => [TRANSFER, { input: { to: seller.id, currency: 'USD', amount: '1.00' }, key: `k\u0000${randomUUID()}` }], 'key'],
    ['a NUL in the recipient', () => [TRANSFER, { input: { to: `${seller.email}\u0000`, currency: 'USD', amount: '1.00' }, key: randomUUID() }], 'to'],
    ['a NUL in a payment reference', () => [PAY, { input: { sellerId: seller.id, currency: 'USD', amount: '1.00', reference: 'INV\u00001' }, key: randomUUID() }], 'reference'],
    ['a NUL in a beneficiary', () => [RETIRE, { input: { amount: '1', beneficiary: 'Ada\u0000' }, key: randomUUID() }], 'beneficiary'],
  ];
  it.each(money)('refuses %s with BAD_USER_INPUT naming the field, and the ledger does not move', async (_name, request, field) => {
    const [query, variables] = request();
    const before = await ledger();
    const result = await stack.graphql(query, variables, ana.token);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(await ledger()).toBe(before);
  });

  it('refuses a NUL written inline in the document the same way', async () => {
    const before = await ledger();
    const result = await stack.graphql(`mutation { transfer(input: { to: "${seller.id}", currency: USD, amount: "1.00", memo: "a\\u0000b" }, idempotencyKey: "${randomUUID()}") { id } }`, {}, ana.token);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'memo' });
    expect(await ledger()).toBe(before);
  });

  it('keeps tab and line breaks in a memo', async () => {
    const result = await stack.graphql(TRANSFER, { input: { to: seller.id, currency: 'USD', amount: '1.00', memo: 'line one\nline\ttwo\r\n' }, key: randomUUID() }, ana.token);
    expect(result.data?.transfer).toEqual({ status: 'COMPLETED', memo: 'line one\nline\ttwo' });
  });

  it('refuses a NUL in a login email and a display name, and registers nobody', async () => {
    const login = await stack.graphql(LOGIN, { email: 'a\u0000@example.com', password: 'long enough password' });
    expect(login.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'email' });
    const email = `nul-${randomUUID().slice(0, 8)}@example.com`;
    const register = await stack.graphql(REGISTER, { input: { email, password: 'long enough password', displayName: 'Nul\u0000l', role: 'BUYER' } });
    expect(register.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'displayName' });
    expect((await stack.graphql(LOGIN, { email, password: 'long enough password' })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers POST /token with a NUL in the username as an invalid request', async () => {
    const response = await fetch(stack.gatewayUrl.replace('/graphql', '/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'a\u0000@example.com', password: 'long enough password' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a NUL in an internal route’s JSON body before the route runs', async () => {
    const credential = await new InternalCredential(TEST_SECRETS.GATEWAY_SECRET).mint({ kind: 'service', service: 'transaction' });
    const response = await fetch(new URL(USER_LOOKUP_PATH, stack.userUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: credential },
      body: JSON.stringify({ email: 'a\u0000@example.com' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { code: 'BAD_USER_INPUT', message: expect.stringMatching(/^email contains the control character U\+0000/) } });
  });
});
