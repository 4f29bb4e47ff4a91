/**
 * The consumer's once-only promise under Kafka's at-least-once delivery: the same envelope delivered twice,
 * the service stopped after storing effects whose offsets Kafka never saw committed (its group rewound to the
 * start while it is down, as if it had died between the two) and started again on the same database, and
 * messages that are not events at all.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import postgres from 'postgres';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, type Envelope } from '../../../lib/events/envelope.js';
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
const logLines: { msg: string; reason?: string; eventId?: string }[] = [];
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

/** A chain event naming `who`: the simplest event that makes exactly one notification. */
const chainEvent = (who: Person, event: string) => createEnvelope('blockchain.event', who.id, { userId: who.id, event });

/** Sends raw messages to a topic of this file, as any producer could: no envelope checks on the way. */
const produceRaw = (topic: string, key: string, values: string[]) =>
  producer.send({ topic: `${harness.topicPrefix}${topic}`, acks: -1, messages: values.map((value) => ({ key, value })) });

const produceEnvelopes = (envelopes: Envelope[]) => produceRaw(envelopes[0]!.type, envelopes[0]!.key, envelopes.map((envelope) => JSON.stringify(envelope)));

const chainEventsOf = async (who: Person) => (await notificationsOf(harness, who)).nodes.filter((node) => node.kind === 'BLOCKCHAIN').map((node) => node.data.event);

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
    expect((await notificationsOf(harness, cat)).nodes.map((node) => node.title).sort()).toEqual(['On-chain activity', 'On-chain activity', 'You received 7.00 USD']);
    const [duplicates] = await database`select count(*)::int as count from (select title, user_id, data from notifications group by 1, 2, 3 having count(*) > 1) repeated`;
    expect(duplicates?.count).toBe(0);
  });

  it('logs and skips messages that are not events, and goes on with the next', async () => {
    const dan = await harness.person('Dan');
    await produceRaw('blockchain.event', dan.id, ['not json {', JSON.stringify({ hello: 'world' })]);
    await produceEnvelopes([chainEvent(dan, 'AfterPoison')]);
    await waitFor(async () => (await chainEventsOf(dan)).includes('AfterPoison'), { timeoutMs: EVENT_WAIT_MS, message: 'the event after the poison' });
    const skipped = logLines.filter((line) => line.msg === 'skipped a message that is not a valid event');
    expect(skipped.map((line) => line.reason?.split(':')[0])).toEqual(['message is not JSON', 'message is not an event envelope']);
  });
});
