import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INTERNAL_CREDENTIAL_HEADER, InternalCredential } from '../../../lib/auth/internal-credential.js';
import { type Envelope, TOPICS } from '../../../lib/events/envelope.js';
import { createKafkaTransport } from '../../../lib/events/kafka-transport.js';
import { silentLogger } from '../../../lib/log.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { waitFor } from '../../../test/support/wait.js';
import { POSTING_PATH, type PostingRequest } from '../../../lib/ledger/posting.js';
import { register } from '../../../test/support/people.js';
import { type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';


let stack: Stack;
let sql: postgres.Sql;
let postingUrl: string;
const credential = new InternalCredential(TEST_SECRETS.GATEWAY_SECRET);

async function post(request: unknown, caller: 'service' | 'gateway' | 'none' = 'service') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (caller !== 'none') {
    headers[INTERNAL_CREDENTIAL_HEADER] = await credential.mint(caller === 'service' ? { kind: 'service', service: 'transaction' } : { kind: 'gateway', identity: null });
  }
  const response = await fetch(postingUrl, { method: 'POST', headers, body: JSON.stringify(request) });
  return { status: response.status, body: (await response.json()) as any };
}

async function newUser(): Promise<string> {
  return (await register(stack.gatewayUrl, 'P')).id;
}

/** Every wallet's balance, users and system accounts, as one comparable snapshot. */
async function balances(): Promise<Record<string, string>> {
  const rows = await sql<{ id: string; balance: string }[]>`select id, balance::text from wallets order by id`;
  return Object.fromEntries(rows.map((row) => [row.id, row.balance]));
}

async function balanceOf(userId: string, currency: string): Promise<bigint> {
  const [row] = await sql<{ balance: string }[]>`select balance::text from wallets where user_id = ${userId} and currency = ${currency}`;
  return BigInt(row!.balance);
}

const deposit = (userId: string, currency: 'USD' | 'ETH' | 'CARBON', amountMinor: bigint, id: string = randomUUID()): PostingRequest => ({
  id,
  kind: 'deposit',
  entries: [
    { account: { system: 'external' }, currency, amountMinor: String(-amountMinor) },
    { account: { userId }, currency, amountMinor: String(amountMinor) },
  ],
});

const transfer = (from: string, to: string, currency: 'USD', amountMinor: bigint, id: string = randomUUID()): PostingRequest => ({
  id,
  kind: 'transfer',
  entries: [
    { account: { userId: from }, currency, amountMinor: String(-amountMinor) },
    { account: { userId: to }, currency, amountMinor: String(amountMinor) },
  ],
});

const brokers = inject('kafkaBrokers');
const topicPrefix = `user-${randomUUID().slice(0, 8)}.`;

beforeAll(async () => {
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  // The service publishes through its own Kafka transport, as in production.
  stack = await startStack({ services: ['user'], env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix } });
  sql = postgres(stack.userDatabaseUrl, { max: 2, onnotice: () => {} });
  postingUrl = new URL(POSTING_PATH, stack.userUrl).toString();
});
afterAll(async () => {
  await sql?.end();
  await stack?.stop();
});

describe('applying postings', () => {
  it('applies a balanced posting, records its entries and writes wallet.updated to the outbox', async () => {
    const user = await newUser();
    const request = deposit(user, 'USD', 10_000n);
    const result = await post(request);
    expect(result.status).toBe(201);
    expect(result.body.status).toBe('APPLIED');
    expect(await balanceOf(user, 'USD')).toBe(10_000n);
    const events = await sql<{ envelope: any }[]>`select envelope from outbox where key = ${user}`;
    expect(events.map((event) => event.envelope.data)).toEqual([
      expect.objectContaining({ userId: user, currency: 'USD', balance: '100.00', balanceMinor: '10000', changeMinor: '10000', postingId: request.id }),
    ]);
  });

  it('publishes wallet.updated to Kafka for each user wallet a posting changed', async () => {
    const consumer = createKafkaTransport({ brokers: brokers.split(','), clientId: 'postings-test', topicPrefix, log: silentLogger });
    const received: Envelope[] = [];
    await consumer.subscribe({ topics: ['wallet.updated'], groupId: `${topicPrefix}${randomUUID()}`, fromBeginning: true, handle: async (envelope) => void received.push(envelope) });
    try {
      const [payer, payee] = [await newUser(), await newUser()];
      await post(deposit(payer, 'USD', 300n));
      const request = transfer(payer, payee, 'USD', 120n);
      await post(request);
      const events = await waitFor(() => {
        const matching = received.filter((envelope) => envelope.data.postingId === request.id);
        return matching.length === 2 && matching;
      }, { timeoutMs: 15_000, message: 'two wallet.updated events for the transfer' });
      expect(events.map((event) => [event.key, event.data.balance])).toEqual(expect.arrayContaining([[payer, '1.80'], [payee, '1.20']]));
    } finally {
      await consumer.close();
    }
  });

  it('applies the same posting twice and changes balances once', async () => {
    const user = await newUser();
    const request = deposit(user, 'ETH', 5n * 10n ** 18n);
    expect((await post(request)).body.status).toBe('APPLIED');
    const again = await post({ ...request, entries: [...request.entries].reverse() });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('ALREADY_APPLIED');
    expect(again.body.entries).toHaveLength(2);
    expect(await balanceOf(user, 'ETH')).toBe(5n * 10n ** 18n);
    const [outboxRows] = await sql`select count(*)::int as count from outbox where envelope->'data'->>'postingId' = ${request.id}`;
    expect(outboxRows!.count).toBe(1);
  });

  it('keeps every balance in a race of many transfers out of one wallet, and never overdraws it', async () => {
    const [payer, payee] = [await newUser(), await newUser()];
    await post(deposit(payer, 'USD', 1_000n));
    const attempts = await Promise.all(Array.from({ length: 30 }, () => post(transfer(payer, payee, 'USD', 100n))));
    const applied = attempts.filter((attempt) => attempt.status === 201).length;
    const refused = attempts.filter((attempt) => attempt.body.error?.code === 'INSUFFICIENT_FUNDS').length;
    expect(applied).toBe(10);
    expect(refused).toBe(20);
    expect(await balanceOf(payer, 'USD')).toBe(0n);
    expect(await balanceOf(payee, 'USD')).toBe(1_000n);
  });

  it('keeps the ledger summing to zero in every currency', async () => {
    const [totals] = await sql`
      select coalesce(sum(balance) filter (where currency = 'USD'), 0)::text as usd,
             coalesce(sum(balance) filter (where currency = 'ETH'), 0)::text as eth,
             coalesce(sum(balance) filter (where currency = 'CARBON'), 0)::text as carbon
      from wallets`;
    expect(totals).toEqual({ usd: '0', eth: '0', carbon: '0' });
  });
});

describe('refused postings leave every balance as it was', () => {
  let payer: string;
  let payee: string;
  beforeAll(async () => {
    [payer, payee] = [await newUser(), await newUser()];
    await post(deposit(payer, 'USD', 500n));
  });

  const refusals: [string, () => unknown, number, string][] = [
    ['a posting that does not balance', () => ({ ...transfer(payer, payee, 'USD', 100n), entries: [{ account: { userId: payer }, currency: 'USD', amountMinor: '-100' }, { account: { userId: payee }, currency: 'USD', amountMinor: '99' }] }), 400, 'BAD_USER_INPUT'],
    ['a posting that names an unknown wallet', () => transfer(payer, randomUUID(), 'USD', 100n), 404, 'NOT_FOUND'],
    ['a posting that would overdraw', () => transfer(payer, payee, 'USD', 501n), 409, 'INSUFFICIENT_FUNDS'],
    ['a posting that names one wallet twice', () => ({ id: randomUUID(), kind: 'transfer', entries: [{ account: { userId: payer }, currency: 'USD', amountMinor: '-1' }, { account: { userId: payer }, currency: 'USD', amountMinor: '1' }] }), 400, 'BAD_USER_INPUT'],
    ['a posting with a zero entry', () => ({ id: randomUUID(), kind: 'transfer', entries: [{ account: { userId: payer }, currency: 'USD', amountMinor: '0' }, { account: { userId: payee }, currency: 'USD', amountMinor: '0' }] }), 400, 'BAD_USER_INPUT'],
    ['a posting with a decimal amount', () => ({ id: randomUUID(), kind: 'transfer', entries: [{ account: { userId: payer }, currency: 'USD', amountMinor: '-1.5' }, { account: { userId: payee }, currency: 'USD', amountMinor: '1.5' }] }), 400, 'BAD_USER_INPUT'],
    ['a posting with an unknown currency', () => ({ id: randomUUID(), kind: 'transfer', entries: [{ account: { userId: payer }, currency: 'EUR', amountMinor: '-1' }, { account: { userId: payee }, currency: 'EUR', amountMinor: '1' }] }), 400, 'BAD_USER_INPUT'],
    ['a posting that drains the market account', () => ({ id: randomUUID(), kind: 'purchase', entries: [{ account: { system: 'market' }, currency: 'CARBON', amountMinor: '-1' }, { account: { userId: payee }, currency: 'CARBON', amountMinor: '1' }] }), 409, 'INSUFFICIENT_FUNDS'],
  ];

  it.each(refusals)('refuses %s', async (_name, build, status, code) => {
    const before = await balances();
    const request = build() as PostingRequest;
    const result = await post(request);
    expect(result.status).toBe(status);
    expect(result.body.error.code).toBe(code);
    expect(await balances()).toEqual(before);
    const [stored] = await sql`select count(*)::int as count from postings where id = ${request.id}`;
    expect(stored!.count).toBe(0);
  });

  it('refuses the same id with different entries as IDEMPOTENCY_KEY_REUSED', async () => {
    const request = transfer(payer, payee, 'USD', 10n);
    expect((await post(request)).status).toBe(201);
    const before = await balances();
    const reused = await post(transfer(payer, payee, 'USD', 11n, request.id));
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await balances()).toEqual(before);
  });

  it('answers only services: 403 for the gateway credential, 401 for none', async () => {
    const before = await balances();
    expect((await post(deposit(payer, 'USD', 1n), 'gateway')).status).toBe(403);
    expect((await post(deposit(payer, 'USD', 1n), 'none')).status).toBe(401);
    expect(await balances()).toEqual(before);
  });

  it('is backed by a CHECK constraint that no code path can get around', async () => {
    await expect(sql`update wallets set balance = -1 where user_id = ${payer} and currency = 'USD'`).rejects.toThrow(/wallets_balance_not_negative/);
  });
});
