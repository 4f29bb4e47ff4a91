import { randomUUID } from 'node:crypto';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import type { PriceUpdatedV1 } from '../../lib/events/contracts/price-updated.js';
import type { Envelope } from '../../lib/events/envelope.js';
import { epochMs, type Tick } from './ticks.js';

const SYMBOL = 'MCO2';
/** All in-sync replicas, as the platform's own producer sends (lib/events/kafka-transport.ts). */
const ACKS_ALL = -1;
/** As the platform's consumers: the broker answers a fetch at once when a message is there, after this long otherwise. */
const FETCH_WAIT_MAX_MS = 100;
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
/** Bounded, so a dead broker fails the run instead of hanging it. */
const RETRY = { initialRetryTime: 300, multiplier: 2, factor: 0.2, maxRetryTime: 5_000, retries: 6 } as const;

/** Where the benchmark publishes MCO2 prices, and a plain kafkajs consumer of the same topic as the baseline. */
export interface PriceEvents {
  /** Publishes the tick's price as a `price.updated` event, stamping its publish time just before the send. */
  publish(tick: Tick): Promise<void>;
  /** Where the baseline consumer reports the prices it reads; set per phase. */
  onConsumed: (value: string) => void;
  stop(): Promise<void>;
}

export async function startPriceEvents(brokers: string[], topicPrefix: string): Promise<PriceEvents> {
  const topic = `${topicPrefix}price.updated`;
  const kafka = new Kafka({ clientId: 'bench-subscriptions', brokers, logLevel: logLevel.ERROR, retry: RETRY });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: RETRY });
  const consumer = kafka.consumer({
    groupId: `bench.baseline.${randomUUID()}`,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxWaitTimeInMs: FETCH_WAIT_MAX_MS,
    allowAutoTopicCreation: false,
    retry: RETRY,
  });
  // The contract carries the price before each one; the benchmark's prices follow on from each other.
  let previousValue: string | null = null;
  const events: PriceEvents = {
    publish: async (tick) => {
      const sent = publish(producer, topic, tick, previousValue);
      previousValue = tick.value;
      await sent;
    },
    onConsumed: () => {},
    async stop() {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    },
  };
  try {
    await producer.connect();
    await startBaselineConsumer(consumer, topic, (value) => events.onConsumed(value));
  } catch (error) {
    await events.stop();
    throw error;
  }
  return events;
}

async function publish(producer: Producer, topic: string, tick: Tick, previousValue: string | null): Promise<void> {
  const observedAt = new Date().toISOString();
  // Typed by the event's contract (lib/events/contracts), which the price subgraph checks every event against: an
  // event it refuses reaches no subscriber.
  const data: PriceUpdatedV1 = { symbol: SYMBOL, vs: 'USD', value: tick.value, previousValue, source: 'simulated', observedAt };
  const envelope: Envelope = {
    id: randomUUID(),
    type: 'price.updated',
    version: 1,
    occurredAt: observedAt,
    key: SYMBOL,
    data,
  };
  const message = { key: SYMBOL, value: JSON.stringify(envelope), headers: { 'event-id': envelope.id, 'event-type': envelope.type } };
  tick.publishedAtMs = epochMs();
  await producer.send({ topic, acks: ACKS_ALL, messages: [message] });
}

/**
 * Its own group reading from now (like the price subgraph's live feed), no commits (the group is thrown away).
 * Only prices it reads after its first fetch reach it; the benchmark's warm-up waits for that.
 */
async function startBaselineConsumer(consumer: Consumer, topic: string, onValue: (value: string) => void): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const envelope = JSON.parse(message.value?.toString() ?? 'null') as Envelope | null;
      const value = envelope?.data.value;
      if (typeof value === 'string') onValue(value);
    },
  });
}
