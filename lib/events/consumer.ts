import type { Logger } from '../log.js';
import type { Envelope, Topic } from './envelope.js';
import { applyOnce, type SqlExecutor } from './outbox.js';
import type { EventTransport, Subscription } from './transport.js';

export interface DurableConsumerOptions {
  transport: EventTransport;
  db: SqlExecutor;
  /** Names the consumer in `processed_events` and is its consumer group. */
  name: string;
  topics: readonly Topic[];
  log: Logger;
  /** The effect of one event, run in the SQL transaction that records the event id. */
  apply(envelope: Envelope, tx: SqlExecutor): Promise<void>;
}

/**
 * A consumer whose effects happen once per event id, however often Kafka delivers it: the effect and the
 * event id are stored in one SQL transaction, and the transport commits the offset only after that.
 */
export function startDurableConsumer(options: DurableConsumerOptions): Promise<Subscription> {
  const { log } = options;
  return options.transport.subscribe({
    topics: options.topics,
    groupId: options.name,
    fromBeginning: true,
    handle: async (envelope) => {
      // The transport runs this as part of the request that wrote the event, so these lines carry its requestId.
      const applied = await applyOnce(options.db, options.name, envelope, (tx) => options.apply(envelope, tx));
      log.debug({ consumer: options.name, eventId: envelope.id, type: envelope.type }, applied ? 'event applied' : 'event already applied; skipped');
    },
    onPoison: (reason, position) => log.warn({ reason, ...position }, 'skipped a message that is not a valid event'),
  });
}
