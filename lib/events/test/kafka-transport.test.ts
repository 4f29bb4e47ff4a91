import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { waitFor } from '../../../test/support/wait.js';
import { silentLogger } from '../../log.js';
import { rawEnvelope as createEnvelope } from '../../../test/support/events.js';
import type { Envelope, Topic } from '../envelope.js';
import { createKafkaTransport } from '../kafka-transport.js';
import type { EventTransport } from '../transport.js';

const brokers = inject('kafkaBrokers').split(',');
/** Every test gets topics of its own under this run's prefix, so neither runs nor tests see each other's messages. */
const runPrefix = `t${Date.now()}-${randomUUID().slice(0, 8)}-`;
const PARTITIONS = 3;
const DELIVERY_TIMEOUT_MS = 15_000;

const transports: EventTransport[] = [];
const kafka = new Kafka({ clientId: 'kafka-transport-test', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
let adminConnected: Promise<void> | undefined;

afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  if (adminConnected) await admin.disconnect();
});

/** A transport whose topics (the given ones, freshly created) belong to this test alone. */
async function transportFor(testName: string, topics: readonly Topic[]) {
  const topicPrefix = `${runPrefix}${testName}-`;
  await ensureTopics(brokers, topics.map((topic) => topicPrefix + topic), PARTITIONS);
  const transport = createKafkaTransport({ brokers, clientId: `test-${testName}`, topicPrefix, log: silentLogger });
  transports.push(transport);
  return { transport, topicPrefix, groupId: (name: string) => `${topicPrefix}${name}` };
}

async function connectedAdmin() {
  adminConnected ??= admin.connect();
  await adminConnected;
  return admin;
}

/** The group's committed offset: the next one it will read, '-1' when it has none. */
async function committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const [offsets] = await (await connectedAdmin()).fetchOffsets({ groupId, topics: [topic] });
  return offsets?.partitions.find((entry) => entry.partition === partition)?.offset;
}

async function nonEmptyPartitions(topic: string): Promise<number[]> {
  const ends = await (await connectedAdmin()).fetchTopicOffsets(topic);
  return ends.filter((end) => end.high !== '0').map((end) => end.partition);
}

describe('Kafka event transport', () => {
  it('delivers published envelopes unchanged and keeps the order per key across partitions', async () => {
    const { transport, topicPrefix, groupId } = await transportFor('order', ['wallet.updated']);
    const received: Envelope[] = [];
    await transport.subscribe({
      topics: ['wallet.updated'],
      groupId: groupId('reader'),
      fromBeginning: true,
      handle: async (envelope) => {
        received.push(envelope);
      },
    });

    const keys = ['wallet-a', 'wallet-b', 'wallet-c', 'wallet-d', 'wallet-e'];
    const published = Array.from({ length: 50 }, (_, sequence) =>
      createEnvelope('wallet.updated', keys[sequence % keys.length] as string, { sequence, balanceMinor: String(sequence * 100) }),
    );
    for (let start = 0; start < published.length; start += 10) await transport.publish(published.slice(start, start + 10));

    await waitFor(() => received.length >= published.length, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'all 50 envelopes' });
    expect(received).toHaveLength(published.length);
    const byId = new Map(received.map((envelope) => [envelope.id, envelope]));
    for (const envelope of published) expect(byId.get(envelope.id)).toEqual(envelope);
    for (const key of keys) {
      const sequences = received.filter((envelope) => envelope.key === key).map((envelope) => envelope.data.sequence);
      const expected = published.filter((envelope) => envelope.key === key).map((envelope) => envelope.data.sequence);
      expect(sequences).toEqual(expected);
    }
    // Order per key means something only if the keys were spread over several partitions.
    expect((await nonEmptyPartitions(`${topicPrefix}wallet.updated`)).length).toBeGreaterThan(1);
  });

  it('delivers an envelope again when its handler throws, even a TypeError (fatal to a plain kafkajs consumer)', async () => {
    const { transport, groupId } = await transportFor('redeliver', ['transaction.status']);
    const attempts: Envelope[] = [];
    await transport.subscribe({
      topics: ['transaction.status'],
      groupId: groupId('flaky'),
      fromBeginning: true,
      handle: async (envelope) => {
        attempts.push(envelope);
        if (attempts.length === 1) throw new TypeError('handler bug on the first attempt');
      },
    });
    const envelope = createEnvelope('transaction.status', 'tx-1', { status: 'CONFIRMED' });
    await transport.publish([envelope]);

    await waitFor(() => attempts.length >= 2, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'a second delivery' });
    expect(attempts.slice(0, 2)).toEqual([envelope, envelope]);
  });

  it('leaves a failing envelope uncommitted, so the next consumer of the group reads it again', async () => {
    const { transport, topicPrefix, groupId } = await transportFor('uncommitted', ['transaction.status']);
    const topic = `${topicPrefix}transaction.status`;
    const group = groupId('resumer');
    const failedAttempts: Envelope[] = [];
    // fromBeginning false: only the group's committed position, not a reset to the start, can bring the envelope back.
    const failing = await transport.subscribe({
      topics: ['transaction.status'],
      groupId: group,
      fromBeginning: false,
      handle: async (envelope) => {
        failedAttempts.push(envelope);
        throw new Error('downstream unavailable');
      },
    });
    const envelope = createEnvelope('transaction.status', 'tx-2', { status: 'PENDING' });
    await transport.publish([envelope]);
    await waitFor(() => failedAttempts.length >= 1, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'the failing delivery' });
    await failing.close();

    const partitions = await nonEmptyPartitions(topic);
    expect(partitions).toHaveLength(1);
    const partition = partitions[0] as number;
    expect(await committedOffset(group, topic, partition)).toBe('0');

    const delivered: Envelope[] = [];
    await transport.subscribe({
      topics: ['transaction.status'],
      groupId: group,
      fromBeginning: false,
      handle: async (next) => {
        delivered.push(next);
      },
    });
    await waitFor(() => delivered.length >= 1, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'the envelope in the next consumer' });
    expect(delivered).toEqual([envelope]);
    await waitFor(async () => (await committedOffset(group, topic, partition)) === '1', {
      timeoutMs: DELIVERY_TIMEOUT_MS,
      message: 'the commit after success',
    });
  });

  it('reports a message that is not an envelope to onPoison and goes on with the next one', async () => {
    const { transport, topicPrefix, groupId } = await transportFor('poison', ['price.updated']);
    const rawProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await rawProducer.connect();
    // Same key as the valid envelope: same partition, so the poison message comes first.
    await rawProducer.send({ topic: `${topicPrefix}price.updated`, acks: -1, messages: [{ key: 'ECO-USD', value: 'not json {' }] });
    await rawProducer.disconnect();
    const valid = createEnvelope('price.updated', 'ECO-USD', { priceMinor: '125' });
    await transport.publish([valid]);

    const poisoned: { reason: string; topic: string; offset: string }[] = [];
    const delivered: Envelope[] = [];
    await transport.subscribe({
      topics: ['price.updated'],
      groupId: groupId('reader'),
      fromBeginning: true,
      handle: async (envelope) => {
        delivered.push(envelope);
      },
      onPoison: (reason, raw) => poisoned.push({ reason, topic: raw.topic, offset: raw.offset }),
    });

    await waitFor(() => delivered.length >= 1, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'the valid envelope after the poison message' });
    expect(poisoned).toEqual([{ reason: 'message is not JSON', topic: `${topicPrefix}price.updated`, offset: '0' }]);
    expect(delivered).toEqual([valid]);
  });

  it('does not deliver envelopes published before a fromBeginning:false subscription', async () => {
    const { transport, groupId } = await transportFor('live', ['notification.created']);
    const before = createEnvelope('notification.created', 'user-1', { text: 'before' });
    await transport.publish([before]);

    const delivered: Envelope[] = [];
    await transport.subscribe({
      topics: ['notification.created'],
      groupId: groupId('live-feed'),
      fromBeginning: false,
      handle: async (envelope) => {
        delivered.push(envelope);
      },
    });
    // Same key, same partition: had the subscription started at the beginning, `before` would arrive first.
    const after = createEnvelope('notification.created', 'user-1', { text: 'after' });
    await transport.publish([after]);

    await waitFor(() => delivered.length >= 1, { timeoutMs: DELIVERY_TIMEOUT_MS, message: 'the envelope published after subscribing' });
    expect(delivered).toEqual([after]);
  });
});
