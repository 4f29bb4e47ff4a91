/**
 * The consumer's once-only promise under Kafka's at-least-once delivery: the same envelope delivered twice,
 * the service stopped after storing effects whose offsets Kafka never saw committed (its group rewound to the
 * start while it is down, as if it had died between the two) and started again on the same database, and
 * messages that are not events at all.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import postgres from 'postgres';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../../lib/events/contracts/index.js';
import type { Envelope } from '../../../lib/events/envelope.js';
import { rawEnvelope } from '../../../test/support/events.js';
import type { RunningServer } from '../../../lib/server/subgraph-server.js';
import { freePort } from '../../../scripts/infra/ports.js';
import { TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';
import { CONSUMED_TOPICS } from '../src/notifications/consumer.js';
import { consumerNameOf, startFromEnv } from '../src/server.js';
import { NotificationStack, notificationsOf, type Person } from './notification-stack.js';

const EVENT_WAIT_MS = 20_000;
const harness = new NotificationStack('redelivery');
let port: number;
let service: RunningServer | null = null;
let producer: Producer;
let database: postgres.Sql;
let admin: Admin;
const groupId = () => consumerNameOf({ KAFKA_TOPIC_PREFIX: harness.topicPrefix });
/** The service's log lines, parsed: they show which deliveries the consumer skipped. */
const logLines: { msg: string; reason?: string; eventId?: string; detail?: string }[] = [];
const skippedAsApplied = () => logLines.filter((line) => line.msg === 'event already applied; skipped').map((line) => line.eventId);

const log = pino(
  { level: 'debug' },
  new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  }),
);

async function startService() {
  service = await startFromEnv(
    { ...TEST_SECRETS, ...harness.kafkaEnv, NODE_ENV: 'test', PORT: String(port), DATABASE_URL: harness.stack.subgraphs.notification!.databaseUrl },
    { log },
  );
}

beforeAll(async () => {
  port = await freePort();
  // The stack makes the database and points the gateway at this port; the test runs the service itself.
  await harness.start({ external: { notification: `http://127.0.0.1:${port}/graphql` } });
  await startService();
  database = postgres(harness.stack.subgraphs.notification!.databaseUrl, { max: 2, onnotice: () => {} });
  producer = new Kafka({ clientId: 'redelivery-test', brokers: harness.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  admin = new Kafka({ clientId: 'redelivery-admin', brokers: harness.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
}, 90_000);

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await database?.end();
  await service?.stop();
  await harness.stop();
});

/**
 * Forgets every offset the consumer group committed (no member may be running), so it starts again from the
 * beginning of each partition, as a consumer that stored its effects but never committed would.
 */
async function forgetCommittedOffsets() {
  await admin.deleteGroups([groupId()]);
}

/** Messages in the consumed topics that the group has not committed past yet. */
async function consumerLag(): Promise<number> {
  let lag = 0n;
  for (const topic of CONSUMED_TOPICS) {
    const name = `${harness.topicPrefix}${topic}`;
    const [committed] = await admin.fetchOffsets({ groupId: groupId(), topics: [name] });
    for (const { partition, high, low } of await admin.fetchTopicOffsets(name)) {
      const offset = committed?.partitions.find((entry) => entry.partition === partition)?.offset ?? '-1';
      lag += BigInt(high) - (offset === '-1' ? BigInt(low) : BigInt(offset));
    }
  }
  return Number(lag);
}

/** Chain events of this file by their transaction hash, so a notice's data names the event it came from. */
const labels = new Map<string, string>();
const hashOf = (label: string) => {
  const hash = `0x${createHash('sha256').update(`${label}:${randomUUID()}`).digest('hex')}`;
  labels.set(hash, label);
  return hash;
};

/** A stake of `who` indexed on chain: the simplest event that makes exactly one notification. */
const stakeData = (who: Person, label: string) => ({
  kind: 'STAKED' as const,
  contract: 'staking' as const,
  account: `0x${'1'.repeat(40)}`,
  userId: who.id,
  amount: '1.000000000000000000',
  txHash: hashOf(label),
  logIndex: 0,
  blockNumber: '7',
  blockHash: `0x${'2'.repeat(64)}`,
});
const chainEvent = (who: Person, label: string) => createEnvelope('blockchain.event', who.id, stakeData(who, label));

/** Sends raw messages to a topic of this file, as any producer could: no envelope checks on the way. */
const produceRaw = (topic: string, key: string, values: string[]) =>
  producer.send({ topic: `${harness.topicPrefix}${topic}`, acks: -1, messages: values.map((value) => ({ key, value })) });

const produceEnvelopes = (envelopes: Envelope[]) => produceRaw(envelopes[0]!.type, envelopes[0]!.key, envelopes.map((envelope) => JSON.stringify(envelope)));

const chainEventsOf = async (who: Person) =>
  (await notificationsOf(harness, who)).nodes.filter((node) => node.kind === 'BLOCKCHAIN').map((node) => labels.get(String(node.data.txHash)));

/** This service's counter of skipped events, by reason, from its /metrics. */
async function skippedCount(reason: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith('ecocoin_events_skipped_total{') && candidate.includes(`topic="blockchain.event"`) && candidate.includes(`reason="${reason}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a durable consumer', () => {
  it('applies an envelope delivered twice once', async () => {
    const ann = await harness.person('Ann');
    const twice = chainEvent(ann, 'Staked');
    // The marker comes after both copies on the same partition (same key), so once it is applied both copies were read.
    await produceEnvelopes([twice, twice, chainEvent(ann, 'Marker')]);
    await waitFor(async () => (await chainEventsOf(ann)).includes('Marker'), { timeoutMs: EVENT_WAIT_MS, message: 'the marker event' });
    expect(await chainEventsOf(ann)).toEqual(['Marker', 'Staked']);
    const [stored] = await database`select count(*)::int as count from processed_events where event_id = ${twice.id}`;
    expect(stored?.count).toBe(1);
    expect(skippedAsApplied()).toContain(twice.id);
  });

  it('applies nothing twice after a restart that re-reads events whose effects were stored', async () => {
    const [bob, cat] = [await harness.person('Bob'), await harness.person('Cat')];
    await harness.deposit(bob, '20.00');
    expect((await harness.transfer(bob, cat, '7.00')).data?.transfer.status).toBe('COMPLETED');
    const before = chainEvent(cat, 'Before');
    await produceEnvelopes([before]);
    await waitFor(async () => (await notificationsOf(harness, cat)).nodes.length === 2, { timeoutMs: EVENT_WAIT_MS, message: 'Cat’s two notifications' });
    const countBefore = await database`select count(*)::int as count from notifications`;

    await service!.stop();
    service = null;
    // As if it had died after storing and before committing: Kafka's position goes back before everything applied.
    await forgetCommittedOffsets();
    await startService();

    await produceEnvelopes([chainEvent(cat, 'After')]);
    await waitFor(async () => (await chainEventsOf(cat)).includes('After'), { timeoutMs: EVENT_WAIT_MS, message: 'the event after the restart' });
    // Every topic read again to its end, not only the partition of 'After'.
    await waitFor(async () => (await consumerLag()) === 0, { timeoutMs: EVENT_WAIT_MS, message: 'the consumer to catch up' });
    // It did read them again: the consumer saw the event from before the restart and skipped it.
    expect(skippedAsApplied()).toContain(before.id);
    const countAfter = await database`select count(*)::int as count from notifications`;
    expect(countAfter[0]?.count).toBe(countBefore[0]!.count + 1);
    expect((await notificationsOf(harness, cat)).nodes.map((node) => node.title).sort()).toEqual(['Stake confirmed', 'Stake confirmed', 'You received 7.00 USD']);
    const [duplicates] = await database`select count(*)::int as count from (select title, user_id, data from notifications group by 1, 2, 3 having count(*) > 1) repeated`;
    expect(duplicates?.count).toBe(0);
  });

  it('stores nothing for an event that tells nobody anything, and applies the next one that does', async () => {
    const fay = await harness.person('Fay');
    const walletEvent = (balanceMinor: string) =>
      createEnvelope('wallet.updated', fay.id, {
        walletId: randomUUID(),
        userId: fay.id,
        currency: 'USD',
        balance: `${balanceMinor.slice(0, -2) || '0'}.${balanceMinor.slice(-2).padStart(2, '0')}`,
        balanceMinor,
        changeMinor: '-100',
        postingId: randomUUID(),
        postingKind: 'transfer',
        updatedAt: new Date().toISOString(),
      });
    const [stillFunded, emptied] = [walletEvent('500'), walletEvent('0')];
    // Same key, same partition: once the emptying one is applied, the one before it was read.
    await produceEnvelopes([stillFunded, emptied]);
    await waitFor(async () => (await notificationsOf(harness, fay)).nodes.some((node) => node.kind === 'WALLET_EMPTY'), { timeoutMs: EVENT_WAIT_MS, message: 'the wallet-empty notice' });
    const stored = await database<{ event_id: string }[]>`select event_id from processed_events where event_id in (${stillFunded.id}, ${emptied.id})`;
    expect(stored.map((row) => row.event_id)).toEqual([emptied.id]);
    expect((await notificationsOf(harness, fay)).nodes.map((node) => node.kind)).toEqual(['WALLET_EMPTY']);
  });

  it('logs and skips messages that are not events, and goes on with the next', async () => {
    const dan = await harness.person('Dan');
    await produceRaw('blockchain.event', dan.id, ['not json {', JSON.stringify({ hello: 'world' })]);
    await produceEnvelopes([chainEvent(dan, 'AfterPoison')]);
    await waitFor(async () => (await chainEventsOf(dan)).includes('AfterPoison'), { timeoutMs: EVENT_WAIT_MS, message: 'the event after the poison' });
    const skipped = logLines.filter((line) => line.msg === 'skipped a message that is not a valid event');
    expect(skipped.map((line) => line.reason?.split(':')[0])).toEqual(['message is not JSON', 'message is not an event envelope']);
  });

  it('skips an event of a version it does not know, and one whose data breaks its contract, with a log and a metric', async () => {
    const eve = await harness.person('Eve');
    const [newerBefore, malformedBefore] = [await skippedCount('unknown_version'), await skippedCount('malformed')];
    const newer = rawEnvelope('blockchain.event', eve.id, stakeData(eve, 'FromTheFuture'), 2);
    // The drift this contract ended: the names the consumer once imagined instead of what the producer writes.
    const malformed = rawEnvelope('blockchain.event', eve.id, { userId: eve.id, event: 'Staked', transactionHash: `0x${'a'.repeat(64)}` });
    await produceEnvelopes([newer, malformed, chainEvent(eve, 'AfterSkipped')]);
    await waitFor(async () => (await chainEventsOf(eve)).includes('AfterSkipped'), { timeoutMs: EVENT_WAIT_MS, message: 'the event after the skipped ones' });
    expect(await chainEventsOf(eve)).toEqual(['AfterSkipped']);
    const skippedIds = (message: string) => logLines.filter((line) => line.msg === message).map((line) => line.eventId);
    expect(skippedIds('skipped an event of a version this build does not know')).toContain(newer.id);
    expect(skippedIds('skipped an event whose data breaks its contract')).toContain(malformed.id);
    expect(logLines.find((line) => line.eventId === malformed.id)?.detail).toContain('kind');
    expect(await skippedCount('unknown_version')).toBe(newerBefore + 1);
    expect(await skippedCount('malformed')).toBe(malformedBefore + 1);
  });
});
