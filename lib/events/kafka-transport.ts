import { type Admin, type Consumer, type EachMessagePayload, Kafka, type LogEntry, logLevel, Partitioners } from 'kafkajs';
import { createLogger, type Logger } from '../log.js';
import { REQUEST_ID_KAFKA_HEADER, runWithRequestId, validRequestId } from '../request-id.js';
import { type Envelope, PoisonMessageError, parseEnvelope, type Topic } from './envelope.js';
import type { EventMetadata, EventTransport, SubscribeOptions, Subscription, TopicLag } from './transport.js';

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
/** Joining the group, getting partitions and the first fetch; far more than a healthy broker needs. */
const GROUP_JOIN_TIMEOUT_MS = 30_000;
/**
 * A failing handler gets its envelope again after ~300 ms, then after doubling delays (±20 %); after
 * `retries` failures kafkajs restarts the consumer (rejoin, read from the last commit) and starts over.
 * Every field is set: kafkajs swaps in other defaults when NODE_ENV=test.
 */
const CONSUMER_RETRY = { initialRetryTime: 300, multiplier: 2, factor: 0.2, maxRetryTime: 30_000, retries: 5 } as const;
/**
 * Bounded (about 15 s of back-off in all), so a dead broker fails `publish` and the outbox tries again
 * later, rather than hanging it: kafkajs's default for idempotent producers is to retry forever.
 */
const PRODUCER_RETRY = { initialRetryTime: 300, multiplier: 2, factor: 0.2, maxRetryTime: 5_000, retries: 6 } as const;
/** Lag is read for metrics at scrape time: a broker that does not answer soon is reported on the next scrape. */
const ADMIN_RETRY = { initialRetryTime: 100, retries: 1 } as const;
/** kafkajs warns that bounded retries weaken exactly-once; we need at-least-once, and consumers dedupe by event id. */
const ACCEPTED_KAFKAJS_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';
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
  let admin: { client: Admin; connecting: Promise<void> } | undefined;
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

  /** One admin client for the lag of every subscription, connected at the first scrape that asks. */
  async function connectAdmin(): Promise<Admin> {
    if (!admin) {
      const client = kafka.admin({ retry: ADMIN_RETRY });
      admin = { client, connecting: client.connect() };
      admin.connecting.catch(() => (admin = undefined));
    }
    await admin.connecting;
    return admin.client;
  }

  return {
    async publish(envelopes, metadata) {
      assertOpen();
      if (envelopes.length === 0) return;
      await connectProducer();
      await producer.sendBatch({ acks: ACKS_ALL, topicMessages: toTopicMessages(envelopes, metadata ?? [], topicPrefix) });
    },

    async subscribe(subscribeOptions) {
      assertOpen();
      const subscription = await startSubscription(kafka, subscribeOptions, topicPrefix, log, connectAdmin);
      if (closing) {
        await subscription.close();
        assertOpen();
      }
      subscriptions.add(subscription);
      return {
        lag: () => subscription.lag(),
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
        if (admin) await admin.connecting.then(() => admin?.client.disconnect()).catch(() => {});
      })();
      return closing;
    },
  };
}

/** Envelopes grouped by topic, each group in the caller's order, so envelopes with one key stay in order. */
function toTopicMessages(envelopes: readonly Envelope[], metadata: readonly EventMetadata[], topicPrefix: string) {
  const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
  for (const [index, envelope] of envelopes.entries()) {
    const topic = topicPrefix + envelope.type;
    const messages = byTopic.get(topic) ?? [];
    const requestId = metadata[index]?.requestId;
    const headers = { 'event-id': envelope.id, 'event-type': envelope.type, ...(requestId ? { [REQUEST_ID_KAFKA_HEADER]: requestId } : {}) };
    messages.push({ key: envelope.key, value: JSON.stringify(envelope), headers });
    byTopic.set(topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

async function startSubscription(
  kafka: Kafka,
  options: SubscribeOptions,
  topicPrefix: string,
  log: Logger,
  connectAdmin: () => Promise<Admin>,
): Promise<Required<Subscription>> {
  const topics = options.topics.map((topic) => topicPrefix + topic);

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

  /** A committed offset is the next one the group reads. */
  const commit = (topic: string, partition: number, nextOffset: string) => consumer.commitOffsets([{ topic, partition, offset: nextOffset }]);
  const after = (offset: string) => (BigInt(offset) + 1n).toString();

  async function eachMessage({ topic, partition, message }: EachMessagePayload) {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(message.value);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      onPoison(error.message, { topic, partition, offset: message.offset });
      await commit(topic, partition, after(message.offset));
      return;
    }
    // A header is input like any other: a value that is not a sane request id is dropped, not logged.
    const requestId = validRequestId(message.headers?.[REQUEST_ID_KAFKA_HEADER]?.toString());
    try {
      await runWithRequestId(requestId, () => options.handle(envelope, requestId ? { requestId } : {}));
    } catch (error) {
      // The group's position stays at this envelope: kafkajs fetches it again now, and a restarted consumer
      // starts here too. Without this commit a new fromBeginning:false group would restart at the log end.
      await commit(topic, partition, message.offset);
      throw new HandlerFailedError(`handler for ${topic}/${partition}@${message.offset} (event ${envelope.id}) failed`, { cause: error });
    }
    await commit(topic, partition, after(message.offset));
  }

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) log.error({ err: payload.error, groupId: options.groupId }, 'Kafka consumer stopped for good');
  });
  const consuming = waitUntilConsuming(consumer, options.groupId);
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
    await consumer.run({ autoCommit: false, eachMessage });
    await consuming;
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
    lag: async () => groupLag(await connectAdmin(), options, topicPrefix),
  };
}

/**
 * Per topic, the messages after the group's committed offset up to the high watermark, over all partitions.
 * A partition the group never committed counts from its start for a durable consumer (it will read all of it),
 * and as nothing for a live feed (it starts at the end).
 */
async function groupLag(admin: Admin, options: SubscribeOptions, topicPrefix: string): Promise<TopicLag[]> {
  const committed = await admin.fetchOffsets({ groupId: options.groupId, topics: options.topics.map((topic) => topicPrefix + topic) });
  return Promise.all(
    committed.map(async ({ topic, partitions }) => {
      const ends = await admin.fetchTopicOffsets(topic);
      let messages = 0n;
      for (const end of ends) {
        const offset = partitions.find((partition) => partition.partition === end.partition)?.offset ?? '-1';
        const from = offset !== '-1' ? offset : options.fromBeginning ? end.low : end.high;
        if (BigInt(end.high) > BigInt(from)) messages += BigInt(end.high) - BigInt(from);
      }
      return { topic: topic.slice(topicPrefix.length) as Topic, messages: Number(messages) };
    }),
  );
}

/**
 * Resolves once the consumer has joined its group, got its partitions and fetched once. kafkajs picks the
 * start of a partition without a committed offset (`fromBeginning` false: the log end) at that first fetch,
 * not at the join, so only then is an envelope published after `subscribe` sure to be read.
 */
function waitUntilConsuming(consumer: Consumer, groupId: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const removeListeners: (() => void)[] = [];
    const finish = (error?: Error) => {
      clearTimeout(timer);
      for (const removeListener of removeListeners) removeListener();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`Kafka consumer of group ${groupId} was not consuming within ${GROUP_JOIN_TIMEOUT_MS} ms`)),
      GROUP_JOIN_TIMEOUT_MS,
    );
    removeListeners.push(
      consumer.on(consumer.events.GROUP_JOIN, () => {
        removeListeners.push(consumer.on(consumer.events.FETCH, () => finish()));
      }),
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) finish(payload.error);
      }),
    );
  });
}

/** kafkajs's own warnings and errors (rebalances, retries, crashes) go to the service's log. */
function kafkaLogTo(log: Logger) {
  return ({ namespace, level, log: entry }: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _logger, ...details } = entry as typeof entry & { logger?: string };
    const fields = { ...details, kafkajs: namespace };
    if (message === ACCEPTED_KAFKAJS_WARNING) log.debug(fields, message);
    else if (level === logLevel.ERROR) log.error(fields, message);
    else if (level === logLevel.WARN) log.warn(fields, message);
    else if (level === logLevel.INFO) log.info(fields, message);
    else log.debug(fields, message);
  };
}
