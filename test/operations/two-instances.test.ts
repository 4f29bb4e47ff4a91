/**
 * Every subgraph as two instances over its one database, on a real Kafka broker and a real chain: what must
 * happen once happens once. The gateway and the other subgraphs know only each subgraph's first instance; the
 * second is called directly, and the background loops of both run side by side.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Role } from '../../lib/auth/identity.js';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../lib/auth/internal-credential.js';
import { type Envelope, TOPICS } from '../../lib/events/envelope.js';
import { createKafkaTransport } from '../../lib/events/kafka-transport.js';
import type { EventTransport, Subscription } from '../../lib/events/transport.js';
import { silentLogger } from '../../lib/log.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { type FakeCoinGecko, simplePriceBody, startFakeCoinGecko } from '../support/fake-coingecko.js';
import { type Person, register } from '../support/people.js';
import { postGraphQL, type ServiceName, type Stack, startStack, TEST_SECRETS } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const brokers = inject('kafkaBrokers');
const topicPrefix = `two-instances-${randomUUID().slice(0, 8)}.`;
const ADMIN = { email: 'two-instances-admin@example.com', password: 'two instances admin password' };
const PRICE_POLL_INTERVAL_MS = 1_000;
const WAIT_MS = 30_000;

let stack: Stack;
let fake: FakeCoinGecko;
let userProxy: UserProxy;
let receiver: WebhookReceiver;
let events: EventTransport;
let collector: Subscription;
const published: Envelope[] = [];
const databases: Partial<Record<ServiceName, postgres.Sql>> = {};
const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);

/** CoinGecko answering a new price with a new time at every /simple/price request: each poll is one observation. */
function answerEveryPollDifferently(coinGecko: FakeCoinGecko) {
  const startSeconds = Math.floor(Date.now() / 1000) - 3600;
  let polls = 0;
  coinGecko.fallback = (path) => {
    if (path.includes('/market_chart')) return { body: JSON.stringify({ prices: [[Date.now() - 7_200_000, 0.27]], market_caps: [], total_volumes: [] }) };
    polls += 1;
    const at = startSeconds + polls;
    return { body: simplePriceBody({ 'moss-carbon-credit': { usd: 1 + polls / 1000, last_updated_at: at }, ethereum: { usd: 3000 + polls, last_updated_at: at } }) };
  };
}

/**
 * Between the transaction subgraphs and the user subgraph: passes every call on, and while `loseAnswers` is on
 * it passes a posting on and then drops the connection before the answer, as a network cut after the commit
 * would. The transaction is left PENDING for recovery, with its posting applied.
 */
interface UserProxy {
  url: string;
  target: string;
  loseAnswers: boolean;
  server: Server;
}

async function startUserProxy(): Promise<UserProxy> {
  const proxy: UserProxy = { url: '', target: '', loseAnswers: false, server: createServer() };
  proxy.server.on('request', (incoming, outgoing) => {
    const target = new URL(incoming.url ?? '/', proxy.target);
    const onward = httpRequest(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
      if (proxy.loseAnswers && incoming.url?.includes('posting')) {
        answer.resume();
        answer.on('end', () => outgoing.destroy());
        return;
      }
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    onward.on('error', () => outgoing.destroy());
    incoming.pipe(onward);
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
  return proxy;
}

interface WebhookReceiver {
  url: string;
  deliveryIds: string[];
  server: Server;
}

async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', deliveryIds: [], server: createServer() };
  receiver.server.on('request', (request, response) => {
    request.resume();
    request.on('end', () => {
      receiver.deliveryIds.push(String(request.headers['x-ecocoin-delivery']));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

const closeServer = (server: Server | undefined) =>
  new Promise<void>((resolve) => {
    if (!server) return resolve();
    server.closeAllConnections();
    server.close(() => resolve());
  });

beforeAll(async () => {
  fake = await startFakeCoinGecko();
  answerEveryPollDifferently(fake);
  userProxy = await startUserProxy();
  receiver = await startWebhookReceiver();
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  events = createKafkaTransport({ brokers: brokers.split(','), clientId: 'two-instances-test', topicPrefix, log: silentLogger });
  collector = await events.subscribe({
    topics: ['blockchain.event', 'transaction.status'],
    groupId: `${topicPrefix}collector`,
    fromBeginning: true,
    handle: async (envelope) => void published.push(envelope),
  });
  stack = await startStack({
    instances: 2,
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      price: {
        PRICE_SOURCE: 'coingecko',
        COINGECKO_BASE_URL: fake.baseUrl,
        COINGECKO_API_PLAN: 'pro',
        COINGECKO_API_KEY: 'test-pro-key',
        COINGECKO_RETRY_ATTEMPTS: '1',
        PRICE_POLL_INTERVAL_MS: String(PRICE_POLL_INTERVAL_MS),
        PRICE_STALE_AFTER_SECONDS: '60',
        PRICE_BACKFILL_DAYS: '1',
      },
      blockchain: { TRACKER_POLL_INTERVAL_MS: '100', INDEXER_POLL_INTERVAL_MS: '200', CHAIN_WORK_INTERVAL_MS: '500' },
      transaction: { USER_SERVICE_URL: userProxy.url, RECOVERY_INTERVAL_MS: '100' },
      notification: { WEBHOOK_POLL_INTERVAL_MS: '50' },
    },
  });
  userProxy.target = new URL(stack.userUrl).origin;
  for (const name of ['user', 'price', 'blockchain', 'transaction', 'notification'] as const) {
    databases[name] = postgres(stack.subgraphs[name]!.databaseUrl, { max: 2, onnotice: () => {} });
  }
}, 120_000);

afterAll(async () => {
  await collector?.close();
  await events?.close();
  for (const sql of Object.values(databases)) await sql.end();
  await stack?.stop();
  await Promise.all([closeServer(userProxy?.server), closeServer(receiver?.server)]);
  await fake?.stop();
});

function db(name: ServiceName): postgres.Sql {
  const sql = databases[name];
  if (!sql) throw new Error(`no connection to the ${name} database`);
  return sql;
}

/** Both instances of a subgraph, as the gateway would call them: with its credential, carrying `identity`. */
function instancesOf(name: ServiceName): string[] {
  const subgraph = stack.subgraphs[name]!;
  expect(subgraph.replicas).toHaveLength(1);
  return [subgraph.url, ...subgraph.replicas.map((replica) => replica.url)];
}

async function callAs<Data = Record<string, any>>(url: string, identity: { userId: string; role: Role }, query: string, variables: Record<string, unknown> = {}) {
  const token = await credential.mint({ kind: 'gateway', identity });
  return postGraphQL<Data>(url, query, variables, { [INTERNAL_CREDENTIAL_HEADER]: token });
}

async function adminToken(): Promise<string> {
  const login = await stack.graphql(/* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN);
  return login.data!.login.token as string;
}

async function deposit(token: string, to: Person, amount: string) {
  const result = await stack.graphql(
    /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`,
    { input: { userId: to.id, currency: 'USD', amount }, key: randomUUID() },
    token,
  );
  expect(result.data?.deposit?.status, JSON.stringify(result.errors)).toBe('COMPLETED');
}

const countsOf = (values: readonly string[]) => values.reduce((counts, value) => counts.set(value, (counts.get(value) ?? 0) + 1), new Map<string, number>());

describe('two instances of every subgraph', () => {
  it('give concurrent chain sends from one signer through both blockchain instances distinct nonces, all mined; stakes of one account go one at a time', async () => {
    const holder = await register(stack.gatewayUrl, 'Holder');
    const admin = { userId: randomUUID(), role: 'ADMIN' as const };
    const MINT = /* GraphQL */ `mutation ($userId: ID!, $amount: Amount!) { mintCarbonOnChain(userId: $userId, amount: $amount) { id hash status } }`;
    const blockchains = instancesOf('blockchain');
    // The first opens the custodial account (and funds its gas) before the rush.
    const first = await callAs(blockchains[0]!, admin, MINT, { userId: holder.id, amount: '1' });
    expect(first.errors).toBeUndefined();
    const mints = await Promise.all(Array.from({ length: 12 }, (_, index) => callAs(blockchains[index % 2]!, admin, MINT, { userId: holder.id, amount: '1' })));
    for (const mint of mints) expect(mint.errors, JSON.stringify(mint.errors)).toBeUndefined();
    const ids = [first, ...mints].map((mint) => mint.data!.mintCarbonOnChain.id as string);
    const rows = await waitFor(async () => {
      const found = await db('blockchain')<{ nonce: number; status: string }[]>`select nonce, status from chain_transactions where id in ${db('blockchain')(ids)}`;
      return found.every((row) => row.status === 'CONFIRMED') && found;
    }, { timeoutMs: WAIT_MS, message: 'all thirteen mints confirmed' });
    expect(rows).toHaveLength(13);
    expect(new Set(rows.map((row) => row.nonce)).size).toBe(13);
    const [refused] = await db('blockchain')<{ count: number }[]>`select count(*)::int as count from chain_transactions where status = 'FAILED'`;
    expect(refused?.count).toBe(0);

    // One stake through each instance at once: the second waits for the first (its approval included), so the
    // account approves the staking contract once and both stakes are mined.
    const STAKE = /* GraphQL */ `mutation ($amount: Amount!) { stake(amount: $amount) { id status revertReason } }`;
    const stakes = await Promise.all(blockchains.map((url) => callAs(url, { userId: holder.id, role: 'BUYER' }, STAKE, { amount: '2' })));
    for (const stake of stakes) expect(stake.data?.stake?.status, JSON.stringify(stake.errors ?? stake.data)).not.toBe('FAILED');
    const kinds = await waitFor(async () => {
      const found = await db('blockchain')<{ kind: string; status: string }[]>`
        select kind, status from chain_transactions where user_id = ${holder.id} and kind in ('APPROVE', 'STAKE') order by kind`;
      return found.every((row) => row.status === 'CONFIRMED') && found;
    }, { timeoutMs: WAIT_MS, message: 'the approval and both stakes confirmed' });
    expect(kinds.map((row) => row.kind)).toEqual(['APPROVE', 'STAKE', 'STAKE']);
  }, 90_000);

  it('index each chain event once and publish it once, with both indexers running', async () => {
    const blockchain = db('blockchain');
    const transfers = await blockchain<{ hash: string }[]>`select hash from chain_transactions where kind in ('MINT', 'STAKE') and status = 'CONFIRMED'`;
    expect(transfers.length).toBeGreaterThanOrEqual(15);
    const hashes = transfers.map((row) => row.hash);
    // Every mint and stake moves tokens: one Transfer log each, at least. The token and the staking contract are
    // indexed each on its own cursor, so a stake's second log (Staked) may land a pass later: wait until what is
    // stored and what is in the outbox have caught up with each other, then compare them.
    const { storedKeys, outboxedKeys } = await waitFor(async () => {
      const [indexed] = await blockchain<{ count: number }[]>`select count(distinct tx_hash)::int as count from chain_events where tx_hash in ${blockchain(hashes)}`;
      const [unsent] = await blockchain<{ count: number }[]>`select count(*)::int as count from outbox where sent_at is null`;
      if (indexed?.count !== hashes.length || unsent?.count !== 0) return false;
      const stored = await blockchain<{ tx_hash: string; log_index: number }[]>`select tx_hash, log_index from chain_events where tx_hash in ${blockchain(hashes)}`;
      const outboxed = await blockchain<{ key: string }[]>`
        select (envelope->'data'->>'txHash') || ':' || (envelope->'data'->>'logIndex') as key from outbox
         where topic = 'blockchain.event' and envelope->'data'->>'txHash' in ${blockchain(hashes)}`;
      const keys = { storedKeys: stored.map((row) => `${row.tx_hash}:${row.log_index}`), outboxedKeys: outboxed.map((row) => row.key) };
      return new Set(keys.storedKeys).size === new Set(keys.outboxedKeys).size && keys;
    }, { timeoutMs: WAIT_MS, message: 'every transfer indexed and published' });
    expect(new Set(storedKeys).size).toBe(storedKeys.length);
    expect([...countsOf(outboxedKeys).values()].every((count) => count === 1)).toBe(true);
    expect([...outboxedKeys].sort()).toEqual([...storedKeys].sort());
    const received = await waitFor(() => {
      const keys = published.flatMap((envelope) => {
        const data = envelope.data as { txHash?: string; logIndex?: number };
        return envelope.type === 'blockchain.event' && data.txHash && hashes.includes(data.txHash) ? [`${data.txHash}:${data.logIndex}`] : [];
      });
      return keys.length >= storedKeys.length && keys;
    }, { timeoutMs: WAIT_MS, message: 'every indexed event on Kafka' });
    expect(received.sort()).toEqual([...storedKeys].sort());
  }, 60_000);

  it('ask CoinGecko once per poll interval, storing and publishing each poll once', async () => {
    const simple = () => fake.requests.filter((request) => request.path.includes('/simple/price'));
    await waitFor(() => simple().length >= 8, { timeoutMs: WAIT_MS, message: 'eight polls' });
    const times = simple().map((request) => request.atMs);
    // From the second poll on: the first came after the backfill. Two unclaimed pollers would ask twice per
    // interval on average; claimed, polls are an interval apart on average (a claim may come a tenth early, and a
    // loaded machine delays some requests after their claim more than others, never the average).
    const averageGapMs = (times.at(-1)! - times[1]!) / (times.length - 2);
    expect(averageGapMs).toBeGreaterThanOrEqual(PRICE_POLL_INTERVAL_MS * 0.8);
    // One backfill, by whichever instance claimed the first poll: one history request per symbol.
    expect(fake.requests.filter((request) => request.path.includes('/market_chart'))).toHaveLength(2);
    // The last poll may still be storing; every earlier one is one row and one event per symbol.
    const settled = times.length - 1;
    const price = db('price');
    const rows = await price<{ value: string }[]>`select value::text from prices where symbol = 'MCO2' and value > 1`;
    const polledValues = Array.from({ length: settled }, (_, index) => (1 + (index + 1) / 1000).toFixed(3));
    const stored = countsOf(rows.map((row) => Number(row.value).toFixed(3)));
    expect(polledValues.map((value) => stored.get(value))).toEqual(polledValues.map(() => 1));
    const updates = await price<{ value: string }[]>`
      select envelope->'data'->>'value' as value from outbox where topic = 'price.updated' and envelope->'data'->>'symbol' = 'MCO2'`;
    const told = countsOf(updates.map((row) => Number(row.value).toFixed(3)));
    expect(polledValues.map((value) => told.get(value))).toEqual(polledValues.map(() => 1));
  }, 60_000);

  it('POST each webhook delivery once, with both notification instances consuming and sending', async () => {
    const token = await adminToken();
    const ana = await register(stack.gatewayUrl, 'Ana');
    const registered = await stack.graphql(/* GraphQL */ `mutation ($url: String!) { registerWebhook(url: $url) { id } }`, { url: receiver.url }, ana.token);
    const webhookId = registered.data?.registerWebhook?.id as string;
    expect(webhookId, JSON.stringify(registered.errors)).toBeTruthy();
    for (const amount of ['1.00', '2.00', '3.00', '4.00']) await deposit(token, ana, amount);
    const notification = db('notification');
    const deliveries = await waitFor(async () => {
      const found = await notification<{ id: string; status: string; attempt_count: number }[]>`select id, status, attempt_count from webhook_deliveries where webhook_id = ${webhookId}`;
      return found.length >= 4 && found.every((row) => row.status === 'DELIVERED') && found;
    }, { timeoutMs: WAIT_MS, message: 'four deliveries made' });
    const [notifications] = await notification<{ count: number }[]>`select count(*)::int as count from notifications where user_id = ${ana.id} and kind = 'FUNDS_RECEIVED'`;
    // One notification per deposit, however the two consumers shared the partitions.
    expect(notifications?.count).toBe(4);
    expect(deliveries.every((row) => row.attempt_count === 1)).toBe(true);
    const posted = countsOf(receiver.deliveryIds);
    expect([...posted.keys()].sort()).toEqual(deliveries.map((row) => row.id).sort());
    expect([...posted.values()].every((count) => count === 1)).toBe(true);
  }, 60_000);

  it('finish transfers through both transaction instances once each, with recovery running in both', async () => {
    const token = await adminToken();
    const [from, to] = [await register(stack.gatewayUrl, 'Payer'), await register(stack.gatewayUrl, 'Payee')];
    await deposit(token, from, '100.00');
    const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;
    const transactions = instancesOf('transaction');
    const transfer = (index: number) => callAs(transactions[index % 2]!, { userId: from.id, role: 'BUYER' }, TRANSFER, { input: { to: to.id, currency: 'USD', amount: '1.00' }, key: randomUUID() });
    // Half of them lose the user subgraph's answer after the posting is applied: PENDING until recovery finds them.
    userProxy.loseAnswers = true;
    const stranded = await Promise.all(Array.from({ length: 6 }, (_, index) => transfer(index)));
    userProxy.loseAnswers = false;
    const answered = await Promise.all(Array.from({ length: 6 }, (_, index) => transfer(index)));
    expect(stranded.map((result) => result.data?.transfer?.status)).toEqual(Array(6).fill('PENDING'));
    expect(answered.map((result) => result.data?.transfer?.status)).toEqual(Array(6).fill('COMPLETED'));
    const ids = [...stranded, ...answered].map((result) => result.data!.transfer.id as string);
    const transaction = db('transaction');
    // Recovery takes a transaction over 10 s after it was made.
    await waitFor(async () => {
      const [open] = await transaction<{ count: number }[]>`select count(*)::int as count from transactions where id in ${transaction(ids)} and status <> 'COMPLETED'`;
      const [unsent] = await transaction<{ count: number }[]>`select count(*)::int as count from outbox where sent_at is null`;
      return open?.count === 0 && unsent?.count === 0;
    }, { timeoutMs: WAIT_MS, message: 'every transfer completed and told' });
    const user = db('user');
    const [payee] = await user<{ balance: string }[]>`select balance::text from wallets where user_id = ${to.id} and currency = 'USD'`;
    const [payer] = await user<{ balance: string }[]>`select balance::text from wallets where user_id = ${from.id} and currency = 'USD'`;
    expect([payer?.balance, payee?.balance]).toEqual(['8800', '1200']);
    const told = await transaction<{ id: string }[]>`
      select envelope->'data'->>'transactionId' as id from outbox where topic = 'transaction.status' and envelope->'data'->>'status' = 'COMPLETED' and envelope->'data'->>'transactionId' in ${transaction(ids)}`;
    expect(told.map((row) => row.id).sort()).toEqual([...ids].sort());
    const onKafka = await waitFor(() => {
      const completed = published.flatMap((envelope) => {
        const data = envelope.data as { transactionId?: string; status?: string };
        return envelope.type === 'transaction.status' && data.status === 'COMPLETED' && data.transactionId && ids.includes(data.transactionId) ? [data.transactionId] : [];
      });
      return completed.length >= ids.length && completed;
    }, { timeoutMs: WAIT_MS, message: 'every completion on Kafka' });
    expect(onKafka.sort()).toEqual([...ids].sort());
  }, 90_000);
});
