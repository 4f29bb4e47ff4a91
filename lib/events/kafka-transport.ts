import { type Admin, type Consumer, type EachMessagePayload, Kafka, type LogEntry, logLevel, Partitioners } from 'kafkajs';
import { createLogger, type Logger } from '../log.js';
import { type Envelope, PoisonMessageError, parseEnvelope } from './envelope.js';
import type { EventTransport, SubscribeOptions, Subscription } from './transport.js';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  /** Prepended to every topic name, so test runs sharing a broker never see each other's messages. */
  topicPrefix?: string;
  log?: Logger;
}

/** A member that stops heartbeating is dropped after this long and its partitions go to the others. */
const SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_INTERVAL_MS = 1_000;
/** The broker answers a fetch at once when a message is there, and after at most this long otherwise. */
const FETCH_WAIT_MAX_MS = 100;
const GROUP_JOIN_TIMEOUT_MS = 30_000;
/**
 * A failing handler gets its envelope again after 300 ms, then growing delays capped at 30 s; after
 * `retries` failures kafkajs restarts the consumer (rejoin, read from the last commit) and starts over.
 */
const CONSUMER_RETRY = { initialRetryTime: 300, maxRetryTime: 30_000, retries: 5 } as const;
/**
 * Bounded, so a dead broker fails `publish` (the outbox keeps the rows and tries again) instead of hanging
 * it. kafkajs warns once that limited retries weaken exactly-once; we only need at-least-once.
 */
const PRODUCER_RETRY = { initialRetryTime: 300, maxRetryTime: 5_000, retries: 8 } as const;
/** All in-sync replicas: `publish` resolves only when the envelopes are durable (transport.ts). */
const ACKS_ALL = -1;

/** The handler failed: always retriable, so kafkajs redelivers and restarts rather than crash for good. */
class HandlerFailedError extends Error {
  override readonly name = 'HandlerFailedError';
  readonly retriable = true;
}

/** The EventTransport contract (transport.ts) on Kafka through kafkajs. */
export function createKafkaTransport(options: KafkaTransportOptions): EventTransport {
  const log = options.log ?? createLogger(options.clientId, 'info');
  const topicPrefix = options.topicPrefix ?? '';
  const kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers, logLevel: logLevel.WARN, logCreator: () => kafkaLogTo(log) });
  const producer = kafka.producer({
    idempotent: true,
    // One request in flight: a retried batch can never overtake the next one, so order per key holds.
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    retry: PRODUCER_RETRY,
  });
  let producerConnecting: Promise<void> | undefined;
  const subscriptions = new Set<Subscription>();
  let closing: Promise<void> | undefined;

  function assertOpen() {
    if (closing) throw new Error('Kafka transport is closed');
  }

  /** Concurrent first publishes share one connect; a failed connect is tried again by the next publish. */
  function connectProducer(): Promise<void> {
    producerConnecting ??= producer.connect().catch((error: unknown) => {
      producerConnecting = undefined;
      throw error;
    });
    return producerConnecting;
  }

  return {
    async publish(envelopes) {
      assertOpen();
      if (envelopes.length === 0) return;
      await connectProducer();
      await producer.sendBatch({ acks: ACKS_ALL, topicMessages: toTopicMessages(envelopes, topicPrefix) });
    },

    async subscribe(subscribeOptions) {
      assertOpen();
      const subscription = await startSubscription(kafka, subscribeOptions, topicPrefix, log);
      subscriptions.add(subscription);
      return {
        async close() {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },

    close() {
      closing ??= (async () => {
        await Promise.allSettled([...subscriptions].map((subscription) => subscription.close()));
        subscriptions.clear();
        if (producerConnecting) await producerConnecting.then(() => producer.disconnect()).catch(() => {});
      })();
      return closing;
    },
  };
}

/** Envelopes grouped by topic, each group in the caller's order, so envelopes with one key stay in order. */
function toTopicMessages(envelopes: readonly Envelope[], topicPrefix: string) {
  const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
  for (const envelope of envelopes) {
    const topic = topicPrefix + envelope.type;
    const messages = byTopic.get(topic) ?? [];
    messages.push({ key: envelope.key, value: JSON.stringify(envelope), headers: { 'event-id': envelope.id, 'event-type': envelope.type } });
    byTopic.set(topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

async function startSubscription(kafka: Kafka, options: SubscribeOptions, topicPrefix: string, log: Logger): Promise<Subscription> {
  const topics = options.topics.map((topic) => topicPrefix + topic);
  if (!options.fromBeginning) await startNewGroupAtEnd(kafka, options.groupId, topics, log);

  const consumer = kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    maxWaitTimeInMs: FETCH_WAIT_MAX_MS,
    allowAutoTopicCreation: false,
    retry: { ...CONSUMER_RETRY, restartOnFailure: async () => true },
  });
  const onPoison =
    options.onPoison ?? ((reason, raw) => log.warn({ ...raw, groupId: options.groupId, reason }, 'skipped a message that is not an event envelope'));

  const commitPast = (topic: string, partition: number, offset: string) =>
    consumer.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }]);

  async function eachMessage({ topic, partition, message }: EachMessagePayload) {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(message.value);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      onPoison(error.message, { topic, partition, offset: message.offset });
      await commitPast(topic, partition, message.offset);
      return;
    }
    try {
      await options.handle(envelope);
    } catch (error) {
      // Nothing is committed: kafkajs fetches this partition again from this message.
      throw new HandlerFailedError(`handler for ${topic}/${partition}@${message.offset} (event ${envelope.id}) failed`, { cause: error });
    }
    await commitPast(topic, partition, message.offset);
  }

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) log.error({ err: payload.error, groupId: options.groupId }, 'Kafka consumer stopped for good');
  });
  const joined = waitForGroupJoin(consumer, options.groupId);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
    await consumer.run({ autoCommit: false, eachMessage });
    await joined;
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= consumer.disconnect();
      return closing;
    },
  };
}

/**
 * Resolves once the consumer is in the group with its partitions assigned, so an envelope published after
 * `subscribe` resolves is one this member (or another of its group) will read.
 */
function waitForGroupJoin(consumer: Consumer, groupId: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      removeListener();
      reject(new Error(`Kafka consumer of group ${groupId} did not join within ${GROUP_JOIN_TIMEOUT_MS} ms`));
    }, GROUP_JOIN_TIMEOUT_MS);
    const removeListener = consumer.on(consumer.events.GROUP_JOIN, () => {
      clearTimeout(timer);
      removeListener();
      resolve();
    });
  });
}

/**
 * A group with no committed position on a partition would start at the log end each time its consumer
 * (re)starts, so an envelope whose handler failed before the first commit would be skipped after a
 * restart. Committing the current end for such partitions, once, before the first start fixes where
 * a new group begins: at `subscribe`.
 */
async function startNewGroupAtEnd(kafka: Kafka, groupId: string, topics: string[], log: Logger): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const { topic, partitions } of committed) {
      const uncommitted = new Set(partitions.filter((partition) => partition.offset === '-1').map((partition) => partition.partition));
      if (uncommitted.size === 0) continue;
      const ends = (await admin.fetchTopicOffsets(topic)).filter((end) => uncommitted.has(end.partition));
      await setOffsetsUnlessRunning(admin, groupId, topic, ends.map((end) => ({ partition: end.partition, offset: end.high })), log);
    }
  } finally {
    await admin.disconnect();
  }
}

/** A group with running members already has its positions; another instance set them as it started. */
async function setOffsetsUnlessRunning(admin: Admin, groupId: string, topic: string, partitions: { partition: number; offset: string }[], log: Logger) {
  try {
    await admin.setOffsets({ groupId, topic, partitions });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('must have no running instances')) throw error;
    log.debug({ groupId, topic }, 'group already running; its members keep their positions');
  }
}

/** kafkajs's own warnings and errors (rebalances, retries, crashes) go to the service's log. */
function kafkaLogTo(log: Logger) {
  return ({ namespace, level, log: entry }: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _logger, ...details } = entry as typeof entry & { logger?: string };
    const fields = { ...details, kafkajs: namespace };
    if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else if (level === logLevel.INFO) log.info(fields, message);
    else log.debug(fields, message);
  };
}
