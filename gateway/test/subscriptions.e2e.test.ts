import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { register as registerPerson } from '../../test/support/people.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
let stack: Stack;
let adminToken: string;
const clients: Client[] = [];

function connect(token: string | undefined, onClosed?: (code: number) => void): Client {
  const client = createClient({
    url: stack.gatewayUrl.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event) => onClosed?.((event as { code: number }).code) },
  });
  client.on('error', () => {});
  clients.push(client);
  return client;
}

function collect<Data>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const received: { data?: Data | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[] = [];
  const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
  client.subscribe<Data>({ query, variables }, { next: (message) => void received.push(message), error: (error) => void received.push({ errors: Array.isArray(error) ? error : [{ message: String(error) }] }), complete: () => {} });
  return { received, connected };
}

const register = (name: string) => registerPerson(stack.gatewayUrl, name);

beforeAll(async () => {
  stack = await startStack({ services: ['user', 'price', 'transaction'], serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_POLL_INTERVAL_MS: '300' } } });
  adminToken = (await stack.graphql(`mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN)).data!.login.token;
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await stack?.stop();
});

describe('subscriptions through the gateway', () => {
  it('delivers priceUpdated ticks from the price subgraph', async () => {
    const { token } = await register('Watcher');
    const { received, connected } = collect<{ priceUpdated: { value: string; source: string } }>(connect(token), /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value source } }`);
    await connected;
    const tick = await waitFor(() => received.find((message) => message.data?.priceUpdated), { timeoutMs: 10_000, message: 'a price tick' });
    expect(tick.data?.priceUpdated.source).toBe('SIMULATED');
    expect(tick.data?.priceUpdated.value).toMatch(/^\d+(\.\d+)?$/);
  });

  it('completes each transactionUpdated event with fields from the user subgraph', async () => {
    const [sender, receiver] = [await register('Sender'), await register('Receiver')];
    const { received, connected } = collect<{ transactionUpdated: { id: string; status: string; amount: string; from: { displayName: string } } }>(
      connect(receiver.token),
      /* GraphQL */ `subscription { transactionUpdated { id status amount from { displayName } } }`,
    );
    await connected;
    await stack.graphql(`mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`, { input: { userId: sender.id, currency: 'USD', amount: '10.00' }, key: randomUUID() }, adminToken);
    const transfer = await stack.graphql(`mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id } }`, { input: { to: receiver.id, currency: 'USD', amount: '3.00' }, key: randomUUID() }, sender.token);
    const update = await waitFor(() => received.find((message) => message.data?.transactionUpdated?.id === transfer.data?.transfer.id), { timeoutMs: 10_000, message: 'the transfer’s update' });
    expect(update.data?.transactionUpdated).toEqual({ id: transfer.data?.transfer.id, status: 'COMPLETED', amount: '3.00', from: { displayName: 'Sender' } });
  });

  it('reports an error in an entity fetch on that event and keeps the subscription alive', async () => {
    const [sender, receiver] = [await register('Private'), await register('Nosy')];
    const { received, connected } = collect<{ transactionUpdated: { id: string; status: string; from: { email: string } | null } }>(
      connect(receiver.token),
      // The sender's email is private: the user subgraph refuses that field in the entity fetch (Rest).
      /* GraphQL */ `subscription { transactionUpdated { id status from { email } } }`,
    );
    await connected;
    await stack.graphql(`mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`, { input: { userId: sender.id, currency: 'USD', amount: '10.00' }, key: randomUUID() }, adminToken);
    const transfer = () => stack.graphql(`mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id } }`, { input: { to: receiver.id, currency: 'USD', amount: '1.00' }, key: randomUUID() }, sender.token);
    const ids = [(await transfer()).data?.transfer.id, (await transfer()).data?.transfer.id];
    const events = await waitFor(() => {
      const mine = received.filter((message) => ids.includes(message.data?.transactionUpdated?.id));
      return mine.length === 2 && mine;
    }, { timeoutMs: 10_000, message: 'both events, each with its error' });
    for (const event of events) {
      expect(event.data?.transactionUpdated).toMatchObject({ status: 'COMPLETED', from: null });
      // The same public filter as HTTP: the code, never the executor's `serviceName` or anything else internal.
      expect(event.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
    }
  });

  it('tells a user when their wallet balance changes, and nobody else', async () => {
    const [owner, other] = [await register('Owner'), await register('Other')];
    const before = stack.gateway.subscriptionStats();
    const [ownerClient, otherClient] = [connect(owner.token), connect(other.token)];
    const mine = collect<{ walletUpdated: { currency: string; balance: string; owner: { id: string } } }>(ownerClient, /* GraphQL */ `subscription { walletUpdated { currency balance owner { id } } }`);
    const theirs = collect(otherClient, /* GraphQL */ `subscription { walletUpdated { balance } }`);
    await Promise.all([mine.connected, theirs.connected]);
    await stack.graphql(`mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`, { input: { userId: owner.id, currency: 'ETH', amount: '0.5' }, key: randomUUID() }, adminToken);
    const update = await waitFor(() => mine.received.find((message) => message.data?.walletUpdated), { timeoutMs: 10_000, message: 'the wallet update' });
    expect(update.data?.walletUpdated).toEqual({ currency: 'ETH', balance: '0.500000000000000000', owner: { id: owner.id } });
    expect(theirs.received).toEqual([]);
    // Personal feeds may never see another event: leaving must free the upstream at once, not at the next event.
    await Promise.all([ownerClient.dispose(), otherClient.dispose()]);
    await waitFor(() => stack.gateway.subscriptionStats().upstreams === before.upstreams && stack.gateway.subscriptionStats().upstreamConnections === before.upstreamConnections, {
      timeoutMs: 5_000,
      message: 'the personal upstreams and their connections to close',
    });
  });

  it('serves 200 subscribers of the same price through one upstream subscription, and closes it when they leave', async () => {
    const { token } = await register('Crowd');
    const upstreamsBefore = stack.gateway.subscriptionStats().upstreams;
    const crowd = Array.from({ length: 200 }, () => {
      const client = connect(token);
      return { client, ...collect<{ priceUpdated: { value: string } }>(client, /* GraphQL */ `subscription { priceUpdated(symbol: ETH) { value } }`) };
    });
    await Promise.all(crowd.map((member) => member.connected));
    // Subscribers joined over a few ticks; once all are in, the next tick reaches every one of them.
    const valuesOf = (member: (typeof crowd)[number]) => new Set(member.received.map((message) => message.data?.priceUpdated.value));
    const sharedTick = await waitFor(
      () => [...valuesOf(crowd[0]!)].find((value) => crowd.every((member) => valuesOf(member).has(value))),
      { timeoutMs: 20_000, message: 'one tick seen by all 200' },
    );
    expect(sharedTick).toMatch(/^\d+(\.\d+)?$/);
    expect(stack.gateway.subscriptionStats().upstreams).toBe(upstreamsBefore + 1);
    await Promise.all(crowd.map((member) => member.client.dispose()));
    await waitFor(() => stack.gateway.subscriptionStats().upstreams === upstreamsBefore, { timeoutMs: 5_000, message: 'the upstream to close' });
  });

  it('caps the subscriptions of one connection', async () => {
    const { token } = await register('Greedy');
    const client = connect(token);
    const subscriptions = Array.from({ length: 51 }, () => collect(client, /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }`));
    const refused = await waitFor(() => subscriptions.find((subscription) => subscription.received.some((message) => message.errors)), { timeoutMs: 10_000, message: 'one refusal' });
    expect(refused.received[0]?.errors?.[0]?.message).toMatch(/At most 50 subscriptions per connection/);
    expect(subscriptions.filter((subscription) => subscription.received.some((message) => message.errors))).toHaveLength(1);
  });

  it('completes subscriptions with 1001 "Going away" when the gateway stops', async () => {
    const second = await stack.startGateway();
    const { token } = await register('Leaving');
    let code = 0;
    const client = createClient({ url: second.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` }, on: { closed: (event) => void (code = (event as { code: number }).code) } });
    clients.push(client);
    const connected = new Promise<void>((resolve) => client.on('connected', () => resolve()));
    client.subscribe({ query: /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }` }, { next: () => {}, error: () => {}, complete: () => {} });
    await connected;
    await second.stop();
    await waitFor(() => code !== 0, { timeoutMs: 5_000, message: 'the socket to close' });
    expect(code).toBe(1001);
  });

  it('tells the client UPSTREAM_UNAVAILABLE when the owning subgraph stays gone after retries', async () => {
    const { silentLogger } = await import('../../lib/log.js');
    const { TEST_SECRETS } = await import('../../test/support/stack.js');
    const { createTestDatabase } = await import('../../test/support/database.js');
    const { startFromEnv: startPrice } = await import('../../subgraphs/price/src/server.js');
    const database = await createTestDatabase('price_gone');
    const price = await startPrice({ ...TEST_SECRETS, NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: '0', DATABASE_URL: database.url, PRICE_POLL_INTERVAL_MS: '300' }, { log: silentLogger });
    const gateway = await stack.startGateway({ PRICE_SUBGRAPH_URL: price.url, SUBSCRIPTION_UPSTREAM_RETRY_ATTEMPTS: '1' });
    try {
      const { token } = await register('Abandoned');
      const client = createClient({ url: gateway.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
      clients.push(client);
      const received: { data?: unknown; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }[] = [];
      client.subscribe({ query: /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }` }, { next: (message) => void received.push(message), error: () => {}, complete: () => {} });
      await waitFor(() => received.some((message) => message.data), { timeoutMs: 10_000, message: 'a first tick' });
      await price.stop();
      const failure = await waitFor(() => received.find((message) => message.errors), { timeoutMs: 20_000, message: 'the upstream failure' });
      expect(failure.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(JSON.stringify(failure)).not.toMatch(/ECONNREFUSED|stack/);
    } finally {
      await gateway.stop();
      await price.stop();
      await database.drop();
    }
  });

  it('closes a connection whose token is wrong (garbage, expired, not a bearer token, not a string) with 4401', async () => {
    const { issueUserToken } = await import('../../lib/auth/user-token.js');
    const { TEST_SECRETS } = await import('../../test/support/stack.js');
    const { id } = await register('Expired');
    const settings = { secret: TEST_SECRETS.JWT_SECRET, issuer: 'ecocoin', audience: 'ecocoin-api', ttlSeconds: 60 };
    const expired = (await issueUserToken({ userId: id, role: 'BUYER' }, settings, new Date(Date.now() - 3_600_000))).token;
    // No token at all is a visitor (public subscriptions only); a token that is there but wrong is refused outright.
    for (const authorization of ['Bearer garbage', `Bearer ${expired}`, `Basic ${expired}`, 42]) {
      let code = 0;
      const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {}, connectionParams: { authorization }, on: { closed: (event) => void (code = (event as { code: number }).code) } });
      client.on('error', () => {});
      clients.push(client);
      const { received } = collect(client, /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }`);
      await waitFor(() => code !== 0, { timeoutMs: 5_000, message: 'the socket to close' });
      expect(code).toBe(4401);
      expect(received.filter((message) => message.data)).toEqual([]);
    }
  });

  it('answers a subscription sent over HTTP with 400 BAD_REQUEST and directions to the WebSocket', async () => {
    const result = await stack.graphql(/* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }`);
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(result.errors?.[0]?.message).toMatch(/WebSocket/);
  });

  it('refuses an invalid subscription, a bad variable and a query sent over the socket', async () => {
    const { token } = await register('Curious');
    const client = connect(token);
    const invalid = collect(client, /* GraphQL */ `subscription { priceUpdated(symbol: DOGE) { value } }`);
    const badVariable = collect(client, /* GraphQL */ `subscription ($symbol: PriceSymbol!) { priceUpdated(symbol: $symbol) { value } }`, { symbol: 'DOGE' });
    const missingVariable = collect(client, /* GraphQL */ `subscription ($symbol: PriceSymbol!) { priceUpdated(symbol: $symbol) { value } }`);
    const query = collect(client, /* GraphQL */ `query { price(symbol: MCO2) { value } }`);
    await waitFor(() => [invalid, badVariable, missingVariable, query].every((subscription) => subscription.received.length > 0), { timeoutMs: 5_000, message: 'every refusal' });
    expect(invalid.received[0]?.errors?.[0]?.message).toMatch(/DOGE/);
    // The client's mistake, as on HTTP: BAD_USER_INPUT naming the variable, never an INTERNAL from the subgraph.
    expect(badVariable.received[0]?.errors?.[0]).toMatchObject({ message: expect.stringMatching(/\$symbol.*DOGE/), extensions: { code: 'BAD_USER_INPUT' } });
    expect(missingVariable.received[0]?.errors?.[0]).toMatchObject({ message: expect.stringMatching(/\$symbol/), extensions: { code: 'BAD_USER_INPUT' } });
    expect(query.received[0]?.errors?.[0]?.message).toMatch(/over HTTP/);
    expect(query.received[0]?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });
});
