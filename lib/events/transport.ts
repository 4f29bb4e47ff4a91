import type { Envelope, Topic } from './envelope.js';

/**
 * How events leave and reach a service. Two implementations with the same contract:
 * Kafka (production, tests) and an in-process bus (`npm start` without KAFKA_BROKERS).
 *
 * Contract:
 * - `publish` resolves only when every envelope is durably accepted (Kafka: acks from all in-sync replicas);
 *   envelopes with the same key keep their order.
 * - A subscription delivers envelopes one at a time per partition/key, in order, and moves its position
 *   past an envelope only after `handle` resolved. If `handle` throws, the envelope is delivered again
 *   (at-least-once); handlers store the event id with their effect so a redelivery changes nothing.
 * - A message that is not a valid envelope is reported to `onPoison` and skipped; it never stops the subscription.
 */
export interface EventTransport {
  /** `metadata[i]`, when given, travels beside `envelopes[i]` (Kafka headers). */
  publish(envelopes: readonly Envelope[], metadata?: readonly EventMetadata[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

/**
 * What travels beside an envelope rather than in it (Kafka headers): tracing, never data a consumer acts on, so
 * the envelope stays the whole event.
 */
export interface EventMetadata {
  /** The request that wrote the event, when a request did (not a poller or a recovery loop). */
  requestId?: string;
}

export interface SubscribeOptions {
  topics: readonly Topic[];
  /** Consumers with the same group share the work; each group sees every event. */
  groupId: string;
  /** `true` for durable consumers that must see history; `false` for live feeds (subscriptions) that start from now. */
  fromBeginning: boolean;
  /** Runs as part of the request that wrote the event (its id on every log line, outbox row and internal call). */
  handle(envelope: Envelope, metadata: EventMetadata): Promise<void>;
  onPoison?(reason: string, raw: { topic: string; partition: number; offset: string }): void;
}

export interface Subscription {
  close(): Promise<void>;
  /** Messages published to each topic that this subscription's group has not yet handled (for metrics). */
  lag?(): Promise<TopicLag[]>;
}

export interface TopicLag {
  topic: Topic;
  messages: number;
}
