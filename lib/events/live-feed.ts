import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Event, type EventMetrics, eventReader } from './contracts/index.js';
import type { Topic } from './envelope.js';
import { createPushQueue, type PushQueue } from './push-queue.js';
import type { EventTransport, Subscription } from './transport.js';

/** Events a subscriber may have waiting; one that falls this far behind is ended rather than allowed to grow memory. */
export const LIVE_QUEUE_LENGTH_MAX = 1000;

export interface LiveFeed<T extends Topic = Topic> {
  /** Events from now on that pass `accept`, until the caller stops iterating or the feed stops. */
  subscribe(accept: (event: Event<T>) => boolean): AsyncIterableIterator<Event<T>>;
  stop(): Promise<void>;
}

interface Listener<T extends Topic> {
  accept(event: Event<T>): boolean;
  queue: PushQueue<Event<T>>;
}

/**
 * The source of a subgraph's Subscription resolvers: one consumer per service instance, in a consumer group of
 * its own reading from now (every instance must see every event), fanned out to the GraphQL subscribers of
 * this instance with a bounded queue each. Events are read through their contracts: one that cannot be read
 * is logged, counted and reaches nobody.
 */
export async function startLiveFeed<T extends Topic>(options: {
  transport: EventTransport;
  topics: readonly T[];
  service: string;
  log: Logger;
  metrics: EventMetrics;
}): Promise<LiveFeed<T>> {
  const listeners = new Set<Listener<T>>();
  const read = eventReader({ consumer: `${options.service}.live`, topics: options.topics, log: options.log, metrics: options.metrics });
  const subscription: Subscription = await options.transport.subscribe({
    topics: options.topics,
    groupId: `${options.service}.live.${randomUUID()}`,
    fromBeginning: false,
    handle: async (envelope) => {
      const event = read(envelope);
      if (!event) return;
      for (const listener of listeners) if (listener.accept(event)) listener.queue.push(event);
    },
    onPoison: (reason, position) => options.log.warn({ reason, ...position }, 'live feed skipped a message that is not an event'),
  });

  return {
    subscribe(accept) {
      const listener: Listener<T> = {
        accept,
        queue: createPushQueue<Event<T>>({
          lengthMax: LIVE_QUEUE_LENGTH_MAX,
          overflow: () => new AppError('RATE_LIMITED', 'This subscription fell too far behind the events and was ended; subscribe again'),
          onClose: () => listeners.delete(listener),
        }),
      };
      listeners.add(listener);
      return listener.queue;
    },
    async stop() {
      for (const listener of listeners) listener.queue.end();
      await subscription.close();
    },
  };
}
