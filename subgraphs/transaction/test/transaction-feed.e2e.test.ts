/**
 * `transactionFeed` through the gateway, over a real Kafka broker and PostgreSQL: one item per status change for
 * each party who may see it, in order, resumable from the cursor of the last item received with nothing missed and
 * nothing repeated, across a closed client, a Kafka event delivered twice, and a restart or a SIGKILL of the
 * transaction subgraph.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { type Client, createClient } from 'graphql-ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { type Envelope, TOPICS } from '../../../lib/events/envelope.js';
import { createKafkaTransport } from '../../../lib/events/kafka-transport.js';
import type { EventTransport } from '../../../lib/events/transport.js';
import { silentLogger } from '../../../lib/log.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { freePort } from '../../../scripts/infra/ports.js';
import { type Person, register as registerPerson } from '../../../test/support/people.js';
import { NOWHERE_URL, type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import * as schema from '../src/db/schema.js';
import { encodeFeedCursor } from '../src/feed/cursor.js';
import { pruneFeed } from '../src/feed/entries.js';
import { startFromEnv as startTransaction } from '../src/server.js';

const ADMIN = { email: 'feed-admin@example.com', password: 'feed admin password' };
const ITEMS_WAIT_MS = 15_000;
const FEED = /* GraphQL */ `subscription ($after: String) { transactionFeed(after: $after) { cursor status transaction { id status } } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;

interface Item {
  cursor: string;
  status: string;
  transaction: { id: string; status: string };
}

interface Follower {
  items: Item[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  ended: () => boolean;
  client: Client;
}

const brokers = inject('kafkaBrokers');
const topicPrefix = `feed-${randomUUID().slice(0, 8)}.`;
let stack: Stack;
let transaction: RunningServer;
let transactionPort: number;
let transactionSql: postgres.Sql;
let transport: EventTransport;
let adminToken: string;
const clients: Client[] = [];

const CHILD_START_TIMEOUT_MS = 60_000;
const childEntry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
let child: ChildProcess | null = null;

const transactionEnv = () => ({
  ...TEST_SECRETS,
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  PORT: String(transactionPort),
  DATABASE_URL: stack.subgraphs.transaction!.databaseUrl,
  USER_SERVICE_URL: new URL(stack.subgraphs.user!.url).origin,
  PRICE_SERVICE_URL: new URL(NOWHERE_URL).origin,
  BLOCKCHAIN_SERVICE_URL: new URL(NOWHERE_URL).origin,
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_PREFIX: topicPrefix,
});

/** The transaction subgraph in this process, on a port of its own so that it can be stopped and started again there. */
function startTransactionService(): Promise<RunningServer> {
  return startTransaction(transactionEnv(), { log: silentLogger });
}

/** The same service as a process of its own on the same port, to be killed without a chance to say goodbye. */
async function startTransactionChild(): Promise<ChildProcess> {
  const spawned = spawn(process.execPath, ['--import', 'tsx', childEntry], { cwd: repositoryRoot, env: { PATH: process.env.PATH ?? '', ...transactionEnv() }, stdio: 'ignore' });
  child = spawned;
  await waitFor(
    async () => {
      if (spawned.exitCode !== null) throw new Error(`the child exited with ${spawned.exitCode}`);
      return (await fetch(`http://127.0.0.1:${transactionPort}/health`)).status === 200;
    },
    { timeoutMs: CHILD_START_TIMEOUT_MS, intervalMs: 100, message: 'the transaction subgraph child to answer /health' },
  );
  return spawned;
}

async function killChild(): Promise<void> {
  const dying = child;
  if (!dying || dying.exitCode !== null || dying.signalCode !== null) return;
  const exited = new Promise((resolve) => dying.once('exit', resolve));
  dying.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  transactionPort = await freePort();
  stack = await startStack({
    services: ['user', 'transaction'],
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } },
    external: { transaction: `http://127.0.0.1:${transactionPort}/graphql` },
  });
  transaction = await startTransactionService();
  transactionSql = postgres(stack.subgraphs.transaction!.databaseUrl, { max: 2, onnotice: () => {} });
  transport = createKafkaTransport({ brokers: brokers.split(','), clientId: 'feed-test-duplicator', topicPrefix, log: silentLogger });
  adminToken = (await stack.graphql(`mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token } }`, ADMIN)).data!.login.token;
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await transport?.close();
  await transactionSql?.end({ timeout: 5 });
  // Before the stack: its database goes with the stack.
  await killChild();
  await transaction?.stop();
  await stack?.stop();
});

/** A client of the gateway following the feed from `after`; it does not reconnect by itself. */
function follow(person: Person, after?: string): Follower {
  const client = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: { authorization: `Bearer ${person.token}` } });
  client.on('error', () => {});
  clients.push(client);
  const follower: Follower = { items: [], errors: [], ended: () => ended, client };
  let ended = false;
  client.subscribe<{ transactionFeed: Item }>(
    { query: FEED, variables: { after: after ?? null } },
    {
      next: (message) => {
        if (message.data?.transactionFeed) follower.items.push(message.data.transactionFeed);
        follower.errors.push(...((message.errors ?? []) as Follower['errors']));
      },
      error: (error) => {
        follower.errors.push(...(Array.isArray(error) ? error : [{ message: String(error) }]));
        ended = true;
      },
      complete: () => void (ended = true),
    },
  );
  return follower;
}

async function person(name: string, usd: string): Promise<Person> {
  const registered = await registerPerson(stack.gatewayUrl, name);
  const deposit = await stack.graphql(DEPOSIT, { input: { userId: registered.id, currency: 'USD', amount: usd }, key: randomUUID() }, adminToken);
  expect(deposit.data?.deposit.status).toBe('COMPLETED');
  return registered;
}

/** The cursor of a user's first feed entry (their deposit): subscribing after it is deterministic, unlike "from now". */
const afterDeposit = encodeFeedCursor(1);

async function transfer(from: Person, to: Person, amount: string): Promise<{ id: string; status: string }> {
  const result = await stack.graphql(TRANSFER, { input: { to: to.id, currency: 'USD', amount }, key: randomUUID() }, from.token);
  const id = result.data?.transfer?.id ?? (result.errors?.[0]?.extensions?.transactionId as string | undefined);
  if (!id) throw new Error(`the transfer left no transaction: ${JSON.stringify(result)}`);
  return { id, status: result.data?.transfer ? result.data.transfer.status : 'FAILED' };
}

const changes = (items: readonly Item[]) => items.map((item) => `${item.transaction.id} ${item.status}`);

function expectCursorsIncrease(items: readonly Item[]) {
  const cursors = items.map((item) => item.cursor);
  expect(new Set(cursors).size).toBe(cursors.length);
  const numbers = cursors.map((cursor) => Number(Buffer.from(cursor, 'base64url').toString('utf8').split(':')[1]));
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
}

async function itemsOf(follower: Follower, count: number, what: string): Promise<Item[]> {
  return waitFor(() => follower.items.length >= count && follower.items, { timeoutMs: ITEMS_WAIT_MS, message: `${count} items: ${what}` });
}

describe('transactionFeed', () => {
  it('gives each party one item per status change, in order, with increasing cursors', async () => {
    const [payer, payee] = [await person('Payer', '10.00'), await person('Payee', '1.00')];
    const [payerFeed, payeeFeed] = [follow(payer, afterDeposit), follow(payee, afterDeposit)];
    const first = await transfer(payer, payee, '3.00');
    // Refused: the payer sees it FAILED, the payee nothing (a refused transfer is the payer's business alone).
    const refused = await transfer(payer, payee, '500.00');
    const second = await transfer(payer, payee, '4.00');
    expect([first.status, refused.status, second.status]).toEqual(['COMPLETED', 'FAILED', 'COMPLETED']);

    await itemsOf(payerFeed, 3, 'the payer’s three changes');
    await itemsOf(payeeFeed, 2, 'the payee’s two');
    // A last change to each, so that anything extra before it would have arrived by then.
    const last = await transfer(payee, payer, '0.50');
    await itemsOf(payerFeed, 4, 'the payer’s fourth');
    await itemsOf(payeeFeed, 3, 'the payee’s third');
    expect(changes(payerFeed.items)).toEqual([`${first.id} COMPLETED`, `${refused.id} FAILED`, `${second.id} COMPLETED`, `${last.id} COMPLETED`]);
    expect(changes(payeeFeed.items)).toEqual([`${first.id} COMPLETED`, `${second.id} COMPLETED`, `${last.id} COMPLETED`]);
    expect(payerFeed.items[1]?.transaction).toEqual({ id: refused.id, status: 'FAILED' });
    expectCursorsIncrease(payerFeed.items);
    expectCursorsIncrease(payeeFeed.items);
    expect([...payerFeed.errors, ...payeeFeed.errors]).toEqual([]);
  });

  it('starts from now without `after`: nothing from before, everything from the moment it is in place', async () => {
    const newcomer = await person('Newcomer', '1.00');
    const feed = follow(newcomer);
    // "Now" is when the subgraph reads where the user's feed stands: deposits until one shows say it is in place.
    const probes: string[] = [];
    await waitFor(
      async () => {
        const deposit = await stack.graphql(DEPOSIT, { input: { userId: newcomer.id, currency: 'USD', amount: '0.01' }, key: randomUUID() }, adminToken);
        probes.push(deposit.data!.deposit.id as string);
        return feed.items.length > 0;
      },
      { timeoutMs: ITEMS_WAIT_MS, intervalMs: 100, message: 'the feed to be in place' },
    );
    const payee = await person('Afterwards', '1.00');
    const last = await transfer(newcomer, payee, '0.50');
    const items = await waitFor(() => feed.items.some((item) => item.transaction.id === last.id) && feed.items, { timeoutMs: ITEMS_WAIT_MS, message: 'the transfer' });
    const firstProbe = probes.indexOf(items[0]!.transaction.id);
    expect(firstProbe).toBeGreaterThanOrEqual(0);
    expect(changes(items)).toEqual([...probes.slice(firstProbe), last.id].map((id) => `${id} COMPLETED`));
  });

  it('resumes after a closed client with exactly the changes it missed', async () => {
    const [payer, payee] = [await person('Leaver', '10.00'), await person('Stayer', '1.00')];
    const before = follow(payer, afterDeposit);
    const seen = [await transfer(payer, payee, '1.00'), await transfer(payer, payee, '1.00')];
    await itemsOf(before, 2, 'the first two');
    await before.client.dispose();
    const missed = [await transfer(payer, payee, '1.00'), await transfer(payer, payee, '1.00')];

    const after = follow(payer, before.items.at(-1)!.cursor);
    await itemsOf(after, 2, 'the two missed');
    // The same cursor again, while the first is live: each replays for itself (no shared upstream that joined late).
    const twin = follow(payer, before.items.at(-1)!.cursor);
    await itemsOf(twin, 2, 'the two missed, for the twin');
    const live = await transfer(payer, payee, '1.00');
    await itemsOf(after, 3, 'the live one');
    await itemsOf(twin, 3, 'the live one, for the twin');
    expect(changes(twin.items)).toEqual(changes(after.items));
    expect(changes(before.items)).toEqual(seen.map((change) => `${change.id} COMPLETED`));
    expect(changes(after.items)).toEqual([...missed, live].map((change) => `${change.id} COMPLETED`));
    expectCursorsIncrease([...before.items, ...after.items]);
  });

  it('repeats nothing when Kafka delivers a status event twice', async () => {
    const [payer, payee] = [await person('Twice', '10.00'), await person('Once', '1.00')];
    const feed = follow(payer, afterDeposit);
    // The live view beside it shows when the subgraph has received the duplicate: it passes on every delivery.
    const updates: string[] = [];
    const liveView = createClient({ url: stack.gatewayUrl.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: { authorization: `Bearer ${payer.token}` } });
    clients.push(liveView);
    const liveViewConnected = new Promise<void>((resolve) => liveView.on('connected', () => resolve()));
    liveView.subscribe<{ transactionUpdated: { id: string } }>(
      { query: /* GraphQL */ `subscription { transactionUpdated { id } }` },
      { next: (message) => void updates.push(String(message.data?.transactionUpdated.id)), error: () => {}, complete: () => {} },
    );
    await liveViewConnected;
    const first = await transfer(payer, payee, '2.00');
    await itemsOf(feed, 1, 'the first change');
    const [row] = await transactionSql<{ envelope: Envelope }[]>`select envelope from outbox where topic = 'transaction.status' and key = ${first.id}`;
    await waitFor(() => updates.includes(first.id), { timeoutMs: ITEMS_WAIT_MS, message: 'the live view of the first change' });
    await transport.publish([row!.envelope]);
    await waitFor(() => updates.filter((id) => id === first.id).length === 2, { timeoutMs: ITEMS_WAIT_MS, message: 'the duplicate at the subgraph' });
    const second = await transfer(payer, payee, '2.00');
    await itemsOf(feed, 2, 'the second change');
    // The duplicate reached the subgraph before the second transfer: any item it made would have come before that one.
    expect(changes(feed.items)).toEqual([`${first.id} COMPLETED`, `${second.id} COMPLETED`]);
  });

  it('ends the feed with SUBSCRIPTION_INTERRUPTED when the transaction subgraph restarts, and resumes with every change made meanwhile once', async () => {
    const [payer, payee] = [await person('Restart', '10.00'), await person('Watcher', '1.00')];
    const [payerFeed, payeeFeed] = [follow(payer, afterDeposit), follow(payee, afterDeposit)];
    const before = await transfer(payer, payee, '1.00');
    await itemsOf(payerFeed, 1, 'the payer’s change before the restart');
    await itemsOf(payeeFeed, 1, 'the payee’s change before the restart');

    await transaction.stop();
    transaction = await startTransactionService();
    for (const feed of [payerFeed, payeeFeed]) {
      await waitFor(() => feed.ended(), { timeoutMs: ITEMS_WAIT_MS, message: 'the feed to end' });
      expect(feed.errors.map((error) => error.extensions?.code)).toEqual(['SUBSCRIPTION_INTERRUPTED']);
      expect(feed.errors[0]?.message).toMatch(/resubscribe with the cursor of the last item you received/);
    }
    const meanwhile = [await transfer(payer, payee, '1.00'), await transfer(payer, payee, '1.00')];

    const [payerAgain, payeeAgain] = [follow(payer, payerFeed.items.at(-1)!.cursor), follow(payee, payeeFeed.items.at(-1)!.cursor)];
    await itemsOf(payerAgain, 2, 'the payer’s changes made meanwhile');
    await itemsOf(payeeAgain, 2, 'the payee’s changes made meanwhile');
    const live = await transfer(payer, payee, '1.00');
    await itemsOf(payerAgain, 3, 'the payer’s live change');
    await itemsOf(payeeAgain, 3, 'the payee’s live change');
    const expected = [...meanwhile, live].map((change) => `${change.id} COMPLETED`);
    expect(changes(payerFeed.items)).toEqual([`${before.id} COMPLETED`]);
    expect(changes(payerAgain.items)).toEqual(expected);
    expect(changes(payeeAgain.items)).toEqual(expected);
    expect([...payerAgain.errors, ...payeeAgain.errors]).toEqual([]);
  });

  it('ends the feed with SUBSCRIPTION_INTERRUPTED when the transaction subgraph is killed, and resumes once it is back', async () => {
    const [payer, payee] = [await person('Killed', '10.00'), await person('Survivor', '1.00')];
    await transaction.stop();
    const killed = await startTransactionChild();
    const feed = follow(payer, afterDeposit);
    const before = await transfer(payer, payee, '1.00');
    await itemsOf(feed, 1, 'the change before the kill');

    await killChild();
    expect(killed.signalCode).toBe('SIGKILL');
    await waitFor(() => feed.ended(), { timeoutMs: ITEMS_WAIT_MS, message: 'the feed to end' });
    expect(feed.errors.map((error) => error.extensions?.code)).toEqual(['SUBSCRIPTION_INTERRUPTED']);
    transaction = await startTransactionService();
    const meanwhile = [await transfer(payer, payee, '1.00'), await transfer(payer, payee, '1.00')];

    const again = follow(payer, feed.items.at(-1)!.cursor);
    await itemsOf(again, 2, 'the changes made meanwhile');
    const live = await transfer(payer, payee, '1.00');
    await itemsOf(again, 3, 'the live change');
    expect(changes(feed.items)).toEqual([`${before.id} COMPLETED`]);
    expect(changes(again.items)).toEqual([...meanwhile, live].map((change) => `${change.id} COMPLETED`));
  }, 90_000);

  it('refuses a cursor it did not give with BAD_USER_INPUT, and one whose changes were pruned with CURSOR_EXPIRED', async () => {
    const [payer, payee] = [await person('Cursor', '10.00'), await person('Other', '1.00')];
    const malformed = follow(payer, 'not-a-cursor');
    const future = follow(payer, encodeFeedCursor(1_000));
    for (const feed of [malformed, future]) {
      await waitFor(() => feed.ended(), { timeoutMs: ITEMS_WAIT_MS, message: 'the refusal' });
      expect(feed.errors.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(feed.items).toEqual([]);
    }

    await transfer(payer, payee, '1.00');
    await transfer(payer, payee, '1.00');
    // The deposit and the first transfer are past the retention; the second transfer is kept.
    await transactionSql`update transaction_feed set created_at = now() - interval '8 days' where user_id = ${payer.id} and seq <= 2`;
    await pruneFeed(drizzle(transactionSql, { schema }));
    const expired = follow(payer, afterDeposit);
    await waitFor(() => expired.ended(), { timeoutMs: ITEMS_WAIT_MS, message: 'the refusal' });
    expect(expired.errors.map((error) => error.extensions?.code)).toEqual(['CURSOR_EXPIRED']);
    const kept = follow(payer, encodeFeedCursor(2));
    await itemsOf(kept, 1, 'the change still kept');
    expect(kept.items[0]?.transaction.status).toBe('COMPLETED');
  });

  it('never shows one user another’s changes', async () => {
    const [payer, payee, outsider] = [await person('Alice', '10.00'), await person('Bob', '1.00'), await person('Eve', '1.00')];
    const outsiderFeed = follow(outsider, afterDeposit);
    const payerFeed = follow(payer, afterDeposit);
    const theirs = await transfer(payer, payee, '2.00');
    await itemsOf(payerFeed, 1, 'the payer’s change');
    const own = await transfer(outsider, payer, '0.25');
    await itemsOf(outsiderFeed, 1, 'the outsider’s own change');
    await itemsOf(payerFeed, 2, 'the payer’s second');
    expect(changes(outsiderFeed.items)).toEqual([`${own.id} COMPLETED`]);
    expect(changes(payerFeed.items)).toEqual([`${theirs.id} COMPLETED`, `${own.id} COMPLETED`]);
  });
});
