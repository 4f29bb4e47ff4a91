import type { Logger } from '../log.js';
import { type Event, type EventMetrics, eventReader } from './contracts/index.js';
import type { Topic } from './envelope.js';
import { applyOnce, type SqlExecutor } from './outbox.js';
import type { EventTransport, Subscription } from './transport.js';

export interface DurableConsumerOptions<T extends Topic> {
  transport: EventTransport;
  db: SqlExecutor;
  /** Names the consumer in `processed_events` and is its consumer group. */
  name: string;
  topics: readonly T[];
  log: Logger;
  /** Counts events skipped because their version is unknown here or their data breaks the contract. */
  metrics: EventMetrics;
  /**
   * Whether an event has an effect here at all, decided from the event alone. One that has none is skipped
   * without an SQL transaction: with nothing applied there is nothing a redelivery could apply twice, so its
   * id need not be stored. Unset, every event is applied.
   */
  concerns?(event: Event<T>): boolean;
  /** The effect of one event, run in the SQL transaction that records the event id. */
  apply(event: Event<T>, tx: SqlExecutor): Promise<void>;
}

/**
 * A consumer whose effects happen once per event id, however often Kafka delivers it: the effect and the
 * event id are stored in one SQL transaction, and the transport commits the offset only after that. Every
 * event is read through its contract first; one that cannot be read is logged, counted and skipped.
 */
export function startDurableConsumer<T extends Topic>(options: DurableConsumerOptions<T>): Promise<Subscription> {
  const { log } = options;
  const read = eventReader({ consumer: options.name, topics: options.topics, log, metrics: options.metrics });
  return options.transport.subscribe({
    topics: options.topics,
    groupId: options.name,
    fromBeginning: true,
    handle: async (envelope) => {
      const event = read(envelope);
      if (!event) return;
      // The transport runs this as part of the request that wrote the event, so these lines carry its requestId.
      if (options.concerns?.(event) === false) {
        log.debug({ consumer: options.name, eventId: envelope.id, type: envelope.type }, 'event has no effect here; skipped');
        return;
      }
      const applied = await applyOnce(options.db, options.name, envelope, (tx) => options.apply(event, tx));
      log.debug({ consumer: options.name, eventId: envelope.id, type: envelope.type }, applied ? 'event applied' : 'event already applied; skipped');
    },
    onPoison: (reason, position) => log.warn({ reason, ...position }, 'skipped a message that is not a valid event'),
  });
}
