import { randomUUID } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createEnvelope } from '../../lib/events/contracts/index.js';
import { createMemoryTransport } from '../../lib/events/memory-transport.js';
import type { EventTransport } from '../../lib/events/transport.js';
import { register as registerPerson } from '../../test/support/people.js';
import { type Stack, startStack } from '../../test/support/stack.js';
import { waitFor } from '../../test/support/wait.js';

/**
 * Subscriptions at scale: public prices without a token, one execution per event for every identical
 * subscriber, personal feeds kept per user, and a reader that stops reading cut off instead of queued for.
 * Price ticks are published by the test (the price subgraph's own poller is set to once an hour), so each test
 * knows exactly how many events there were.
 */
const ADMIN = { email: 'admin@example.com', password: 'admin password 123' };
const PRICE = /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value } }`;
let stack: Stack;
let transport: EventTransport;
let adminToken: string;
let open: Client[] = [];
let tickNumber = 0;

type Message = { data?: Record<string, any> | null; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] };

function connect(token?: string, url = stack.gatewayUrl): Client {
  const client = createClient({ url: url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => {}, connectionParams: token ? { authorization: `Bearer ${token}` } : {} });
  client.on('error', () => {});
  open.push(client);
  return client;
}

/** Subscribes and collects; resolves `started` once the gateway holds the subscription (its group counts it). */
function collect(client: Client, query: string) {
  const received: Message[] = [];
  let completed = false;
  client.subscribe({ query }, { next: (message) => void received.push(message as Message), error: (error) => void received.push({ errors: Array.isArray(error) ? error : [{ message: String(error) }] }), complete: () => void (completed = true) });
  return { received, completed: () => completed };
}

/** Publishes one MCO2 price with a value unique in the file, as the price poller would; returns the value. */
async function tick(): Promise<string> {
  tickNumber += 1;
  const value = `1${String(tickNumber).padStart(4, '0')}.5`;
  const observedAt = new Date().toISOString();
  await transport.publish([createEnvelope('price.updated', 'MCO2', { symbol: 'MCO2', vs: 'USD', value, previousValue: null, source: 'simulated', observedAt })]);
  return value;
}

/**
 * Ticks until every subscriber has the latest one. The gateway holds a subscription (its group counts it) a moment
 * before its upstream subscription reaches the price subgraph, whose feed reads from now: an earlier tick is lost.
 * Once every subscriber has one tick, every tick before it has been handled too, so what is counted after this is
 * the test's alone.
 */
async function warmUp(members: readonly { received: Message[] }[], publish: () => Promise<string> = tick): Promise<void> {
  let last: string | undefined;
  await waitFor(
    async () => {
      if (last !== undefined && members.every((member) => member.received.some((message) => JSON.stringify(message).includes(last as string)))) return true;
      last = await publish();
      return false;
    },
    { timeoutMs: 10_000, intervalMs: 250, message: 'a tick at every subscriber' },
  );
  for (const member of members) member.received.length = 0;
}

const stats = () => stack.gateway.subscriptionStats();
const register = (name: string) => registerPerson(stack.gatewayUrl, name);
const priceValues = (received: readonly Message[]) => received.map((message) => message.data?.priceUpdated?.value);

beforeAll(async () => {
  transport = createMemoryTransport();
  stack = await startStack({
    services: ['user', 'price', 'transaction'],
    transport,
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_POLL_INTERVAL_MS: '3600000' } },
  });
  adminToken = (await stack.graphql(`mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN)).data!.login.token;
}, 60_000);

afterEach(async () => {
  await Promise.all(open.map((client) => client.dispose()));
  open = [];
  await waitFor(() => stats().subscribers === 0, { timeoutMs: 5_000, message: 'every subscriber of the test to leave' });
});

afterAll(async () => {
  await stack?.stop();
});

describe('public subscriptions', () => {
  it('serves priceUpdated to a connection without a token', async () => {
    const visitor = collect(connect(), PRICE);
    await waitFor(() => stats().subscribers === 1, { timeoutMs: 5_000, message: 'the subscription to start' });
    await warmUp([visitor]);
    const value = await tick();
    await waitFor(() => visitor.received.length === 1, { timeoutMs: 5_000, message: 'the tick' });
    expect(visitor.received[0]).toEqual({ data: { priceUpdated: { value } } });
  });

  it('lets a connection without a token open only public subscriptions, and keeps it open for them', async () => {
    const client = connect();
    const wallet = collect(client, /* GraphQL */ `subscription { walletUpdated { balance } }`);
    await waitFor(() => wallet.received.length === 1, { timeoutMs: 5_000, message: 'the refusal' });
    expect(wallet.received[0]?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(wallet.received[0]?.errors?.[0]?.message).toMatch(/Sign in to subscribe to walletUpdated/);
    const prices = collect(client, PRICE);
    await waitFor(() => stats().subscribers === 1, { timeoutMs: 5_000, message: 'the price subscription to start' });
    await warmUp([prices]);
    const value = await tick();
    await waitFor(() => prices.received.length === 1, { timeoutMs: 5_000, message: 'the tick on the same connection' });
    expect(priceValues(prices.received)).toEqual([value]);
  });
});

describe('one execution per event, not one per subscriber', () => {
  it('completes each event once for every identical subscriber, signed in or not, and sends each the same result', async () => {
    const [alice, bob] = [await register('Alice'), await register('Bob')];
    const before = stats();
    // Two visitors, two tabs of Alice's, and Bob: the price is the same for all of them.
    const crowd = [connect(), connect(), connect(alice.token), connect(alice.token), connect(bob.token)].map((client) => collect(client, PRICE));
    await waitFor(() => stats().subscribers === 5, { timeoutMs: 5_000, message: 'all five subscriptions' });
    expect(stats().groups).toBe(1);
    expect(stats().upstreams - before.upstreams).toBe(1);
    await warmUp(crowd);
    const counted = stats();
    const sent = [await tick(), await tick(), await tick()];
    await waitFor(() => crowd.every((member) => member.received.length === 3), { timeoutMs: 5_000, message: 'three ticks at each subscriber' });
    for (const member of crowd) expect(priceValues(member.received)).toEqual(sent);
    expect(stats().executions - counted.executions).toBe(3);
    expect(stats().deliveries - counted.deliveries).toBe(15);
  });

  it('groups different selections by selection: executions per event follow the selections, not the subscribers', async () => {
    const plain = Array.from({ length: 6 }, () => collect(connect(), PRICE));
    const detailed = Array.from({ length: 4 }, () => collect(connect(), /* GraphQL */ `subscription { priceUpdated(symbol: MCO2) { value stale source } }`));
    await waitFor(() => stats().subscribers === 10, { timeoutMs: 5_000, message: 'all ten subscriptions' });
    expect(stats().groups).toBe(2);
    await warmUp([...plain, ...detailed]);
    const before = stats();
    const value = await tick();
    await waitFor(() => [...plain, ...detailed].every((member) => member.received.length === 1), { timeoutMs: 5_000, message: 'the tick at each subscriber' });
    expect(detailed[0]?.received[0]).toEqual({ data: { priceUpdated: { value, stale: false, source: 'SIMULATED' } } });
    expect(stats().executions - before.executions).toBe(2);
    expect(stats().deliveries - before.deliveries).toBe(10);
  });

  it('shares one upstream between subscriptions that differ only in their operation names', async () => {
    const before = stats();
    const ticker = collect(connect(), /* GraphQL */ `subscription Ticker { priceUpdated(symbol: MCO2) { value } }`);
    const banner = collect(connect(), /* GraphQL */ `subscription Banner { priceUpdated(symbol: MCO2) { value } }`);
    await waitFor(() => stats().subscribers === 2, { timeoutMs: 5_000, message: 'both subscriptions' });
    expect(stats().groups).toBe(2);
    expect(stats().upstreams - before.upstreams).toBe(1);
    await warmUp([ticker, banner]);
    const value = await tick();
    await waitFor(() => ticker.received.length === 1 && banner.received.length === 1, { timeoutMs: 5_000, message: 'the tick at both' });
    expect([priceValues(ticker.received), priceValues(banner.received)]).toEqual([[value], [value]]);
  });
});

describe('personal subscriptions', () => {
  it("shares one execution between a user's tabs, and never sends one user's event to another on the same subscription", async () => {
    const [alice, bob] = [await register('Alicia'), await register('Roberto')];
    const feed = /* GraphQL */ `subscription { walletUpdated { currency balance owner { id displayName } } }`;
    const aliceTabs = [collect(connect(alice.token), feed), collect(connect(alice.token), feed)];
    const bobTab = collect(connect(bob.token), feed);
    await waitFor(() => stats().subscribers === 3, { timeoutMs: 5_000, message: 'the three subscriptions' });
    // One group per user: the same document, but not the same people.
    expect(stats().groups).toBe(2);
    // Each deposit answers the balance it leaves, in cents: what the wallet update must carry.
    const cents = new Map<string, number>();
    const deposit = async (userId: string, amountCents = 1) => {
      const result = await stack.graphql<{ deposit: { status: string } }>(`mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { status } }`, { input: { userId, currency: 'USD', amount: (amountCents / 100).toFixed(2) }, key: randomUUID() }, adminToken);
      expect(result.data?.deposit.status).toBe('COMPLETED');
      cents.set(userId, (cents.get(userId) ?? 0) + amountCents);
      return ((cents.get(userId) as number) / 100).toFixed(2);
    };
    // One-cent deposits until each feed is live, then one deposit each, counted.
    await warmUp(aliceTabs, () => deposit(alice.id));
    await warmUp([bobTab], () => deposit(bob.id));
    const before = stats();
    const balances = { alice: await deposit(alice.id, 700), bob: await deposit(bob.id, 900) };
    await waitFor(() => aliceTabs.every((tab) => tab.received.length === 1) && bobTab.received.length === 1, { timeoutMs: 10_000, message: 'each wallet update' });
    for (const tab of aliceTabs) expect(tab.received).toEqual([{ data: { walletUpdated: { currency: 'USD', balance: balances.alice, owner: { id: alice.id, displayName: 'Alicia' } } } }]);
    expect(bobTab.received).toEqual([{ data: { walletUpdated: { currency: 'USD', balance: balances.bob, owner: { id: bob.id, displayName: 'Roberto' } } } }]);
    // Alice's event was completed once for both her tabs (its owner fetched once), Bob's once for his.
    expect(stats().executions - before.executions).toBe(2);
    expect(stats().deliveries - before.deliveries).toBe(3);
  });
});

describe('a client that stops reading', () => {
  it('is closed with 1008 once more than WEBSOCKET_SEND_BUFFER_BYTES_MAX waits for it, while a reader beside it gets every event', async () => {
    const gateway = await stack.startGateway({ WEBSOCKET_SEND_BUFFER_BYTES_MAX: '16384' });
    try {
      // Large events, many of them per tick: each tick writes about 20 KB to the stalled socket.
      const aliases = Array.from({ length: 12 }, (_, index) => `a${index}: observedAt`).join(' ');
      const heavy = `subscription { priceUpdated(symbol: MCO2) { value ${aliases} } }`;
      const reader = collect(connect(undefined, gateway.url), heavy);
      const stalled = new WebSocket(gateway.url.replace('http', 'ws'), 'graphql-transport-ws');
      const stalledReceived: string[] = [];
      let closeCode = 0;
      stalled.on('message', (data) => void stalledReceived.push(String(data)));
      stalled.on('close', (code) => void (closeCode = code));
      await new Promise<void>((resolve, reject) => {
        stalled.once('open', () => resolve());
        stalled.once('error', reject);
      });
      stalled.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await waitFor(() => stalledReceived.some((message) => message.includes('connection_ack')), { timeoutMs: 5_000, message: 'the acknowledgement' });
      for (let id = 1; id <= 40; id += 1) stalled.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: heavy } }));
      await waitFor(() => gateway.subscriptionStats().subscribers === 41, { timeoutMs: 5_000, message: 'all 41 subscriptions' });
      // One group: once the reader has a tick, so has each of the stalled socket's subscriptions.
      await warmUp([reader]);
      // The client stops reading its socket: what the gateway writes piles up in the kernel, then in the gateway.
      (stalled as unknown as { _socket: { pause(): void } })._socket.pause();
      const sent: string[] = [];
      // Enough ticks to fill the kernel's buffers on both ends and then the bound; a generous cap keeps a failure finite.
      while (gateway.subscriptionStats().slowConsumersClosed === 0 && sent.length < 2_000) {
        for (let burst = 0; burst < 20; burst += 1) sent.push(await tick());
        await waitFor(() => reader.received.length === sent.length, { timeoutMs: 10_000, message: 'the reader to keep up' });
      }
      expect(gateway.subscriptionStats().slowConsumersClosed).toBe(1);
      const ticksBeforeCutOff = sent.length;
      // Nothing more is written to the stalled socket: each later tick is delivered to the reader alone.
      const before = gateway.subscriptionStats().deliveries;
      for (let more = 0; more < 5; more += 1) sent.push(await tick());
      await waitFor(() => reader.received.length === sent.length, { timeoutMs: 10_000, message: 'the later ticks at the reader' });
      expect(gateway.subscriptionStats().deliveries - before).toBe(5);
      expect(priceValues(reader.received)).toEqual(sent);
      // Reading again, the stalled client gets what was already on its way, then the close frame: 1008.
      (stalled as unknown as { _socket: { resume(): void } })._socket.resume();
      await waitFor(() => closeCode !== 0, { timeoutMs: 10_000, message: 'the stalled socket to close' });
      expect(closeCode).toBe(1008);
      const stalledNexts = stalledReceived.filter((message) => message.includes('"type":"next"')).length;
      // What it got was written before the cut-off (the kernel held most of it), and the later ticks never were.
      expect(stalledNexts).toBeLessThanOrEqual(ticksBeforeCutOff * 40);
      await waitFor(() => gateway.subscriptionStats().subscribers === 1, { timeoutMs: 5_000, message: "the stalled socket's subscriptions to end" });
    } finally {
      await gateway.stop();
    }
  });
});
