import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../log.js';
import { type Envelope, envelopeSchema, type Topic } from '../envelope.js';
import { blockchainEventV1 } from './blockchain-event.js';
import { notificationCreatedV1 } from './notification-created.js';
import { priceUpdatedV1 } from './price-updated.js';
import { transactionStatusV1 } from './transaction-status.js';
import { walletUpdatedV1 } from './wallet-updated.js';

/**
 * The one contract of every event: per topic, a schema per version of the envelope's `data`, and the version
 * producers write now. Producers build data through `createEnvelope` (checked on the way in: bad data is a
 * bug and throws); consumers read it through `readEvent`, which hands them typed data or tells them to skip.
 * How to add a version: README, "Event contracts".
 */
export const EVENT_CONTRACTS = {
  'transaction.status': { current: 1, versions: { 1: transactionStatusV1 } },
  'wallet.updated': { current: 1, versions: { 1: walletUpdatedV1 } },
  'price.updated': { current: 1, versions: { 1: priceUpdatedV1 } },
  'blockchain.event': { current: 1, versions: { 1: blockchainEventV1 } },
  'notification.created': { current: 1, versions: { 1: notificationCreatedV1 } },
} as const satisfies Record<Topic, { current: number; versions: Record<number, z.ZodType<Record<string, unknown>>> }>;

type Contracts = typeof EVENT_CONTRACTS;
type Versions<T extends Topic> = Contracts[T]['versions'];
type DataOf<Schema> = Schema extends z.ZodType ? z.output<Schema> : never;
type EnvelopeHead = Omit<Envelope, 'type' | 'version' | 'data'>;

export type CurrentVersion<T extends Topic> = Contracts[T]['current'];
/** The data of topic `T` at version `V` (by default the version producers write now). */
export type EventData<T extends Topic, V extends keyof Versions<T> = CurrentVersion<T>> = DataOf<Versions<T>[V]>;

/** An event of one of the topics `T`, at any version this build knows: what consumers receive. */
export type Event<T extends Topic = Topic> = T extends Topic
  ? { [V in keyof Versions<T>]: EnvelopeHead & { type: T; version: V; data: DataOf<Versions<T>[V]> } }[keyof Versions<T>]
  : never;

/** An event as producers write it now: the current version of its topic. */
export type ProducedEvent<T extends Topic = Topic> = T extends Topic ? EnvelopeHead & { type: T; version: CurrentVersion<T>; data: EventData<T> } : never;

/** A producer built data its contract refuses: a bug, never the user's fault. */
export class EventContractError extends Error {
  override readonly name = 'EventContractError';
}

function schemaOf(type: Topic, version: number): z.ZodType<Record<string, unknown>> | undefined {
  const versions: Record<number, z.ZodType<Record<string, unknown>>> = EVENT_CONTRACTS[type].versions;
  return versions[version];
}

/**
 * Keys of `input` that the parsed `output` lost: fields the contract does not name. Readers ignore such
 * fields, so a producer that writes one would write data nobody reads; it must be added to the contract.
 */
function unnamedFields(input: unknown, output: unknown, path = ''): string[] {
  if (typeof input !== 'object' || input === null || typeof output !== 'object' || output === null) return [];
  if (Array.isArray(input)) return input.flatMap((item, index) => unnamedFields(item, (output as unknown[])[index], `${path}[${index}]`));
  // A record's values are open (notification data): the contract names none of its keys, so none is lost.
  return Object.entries(input).flatMap(([key, value]) => {
    if (value === undefined) return [];
    if (!(key in output)) return [`${path}${key}`];
    return unnamedFields(value, (output as Record<string, unknown>)[key], `${path}${key}.`);
  });
}

/** Checks `data` against its contract; returns it as parsed. Throws EventContractError on anything else. */
function checkData(type: Topic, version: number, data: unknown): Record<string, unknown> {
  const schema = schemaOf(type, version);
  if (!schema) throw new EventContractError(`${type} has no contract for version ${version}`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new EventContractError(`${type} v${version} data breaks its contract:\n${z.prettifyError(parsed.error)}`);
  const unnamed = unnamedFields(data, parsed.data);
  if (unnamed.length > 0) throw new EventContractError(`${type} v${version} data has fields its contract does not name: ${unnamed.join(', ')}`);
  return parsed.data;
}

/** A new event of topic `type` at its current version, its data checked against the contract. */
export function createEnvelope<T extends Topic>(type: T, key: string, data: EventData<T>): ProducedEvent<T> {
  const version = EVENT_CONTRACTS[type].current;
  const checked = checkData(type, version, data);
  return envelopeSchema.parse({ id: randomUUID(), type, version, occurredAt: new Date().toISOString(), key, data: checked }) as ProducedEvent<T>;
}

/** Checks an event about to be written (the outbox does, whoever built it). */
export function checkProducedEvent(event: ProducedEvent): void {
  if (event.version !== EVENT_CONTRACTS[event.type].current) {
    throw new EventContractError(`${event.type} is written at version ${EVENT_CONTRACTS[event.type].current}, not ${event.version}`);
  }
  checkData(event.type, event.version, event.data);
}

export type SkipReason = 'unknown_version' | 'malformed' | 'unexpected_topic';
export type ReadOutcome<T extends Topic> = { ok: true; event: Event<T> } | { ok: false; reason: SkipReason; detail: string };

/**
 * Reads an envelope of one of `topics` against its contract. A version this build does not know (a newer
 * producer) or data that breaks its version's contract is not an event to act on: the caller skips it.
 * Fields a contract does not name are dropped, so a reader sees exactly its contract.
 */
export function readEvent<T extends Topic>(envelope: Envelope, topics: readonly T[]): ReadOutcome<T> {
  if (!(topics as readonly Topic[]).includes(envelope.type)) return { ok: false, reason: 'unexpected_topic', detail: `not one of ${topics.join(', ')}` };
  const schema = schemaOf(envelope.type, envelope.version);
  if (!schema) {
    const known = Object.keys(EVENT_CONTRACTS[envelope.type].versions).join(', ');
    return { ok: false, reason: 'unknown_version', detail: `${envelope.type} version ${envelope.version} is unknown here (known: ${known})` };
  }
  const parsed = schema.safeParse(envelope.data);
  if (!parsed.success) return { ok: false, reason: 'malformed', detail: z.prettifyError(parsed.error) };
  // The one place data becomes typed: it was just parsed by the schema of its type and version.
  return { ok: true, event: { ...envelope, data: parsed.data } as unknown as Event<T> };
}

/** Where skipped events are counted (ServiceMetrics implements it). */
export interface EventMetrics {
  eventSkipped(labels: { consumer: string; topic: Topic; version: number; reason: SkipReason }): void;
}

/**
 * `readEvent` for a consumer: an event to skip is logged (with its id, type, version and why) and counted,
 * never thrown, so one event nobody here can read never stops the consumer; null tells the caller to skip.
 */
export function eventReader<T extends Topic>(options: { consumer: string; topics: readonly T[]; log: Logger; metrics: EventMetrics }): (envelope: Envelope) => Event<T> | null {
  return (envelope) => {
    const outcome = readEvent(envelope, options.topics);
    if (outcome.ok) return outcome.event;
    const labels = { consumer: options.consumer, topic: envelope.type, version: envelope.version, reason: outcome.reason };
    options.metrics.eventSkipped(labels);
    const message = outcome.reason === 'unknown_version' ? 'skipped an event of a version this build does not know' : 'skipped an event whose data breaks its contract';
    options.log.warn({ ...labels, eventId: envelope.id, detail: outcome.detail }, message);
    return null;
  };
}
