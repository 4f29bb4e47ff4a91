import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Envelope, Topic } from './envelope.js';
import { createPushQueue, type PushQueue } from './push-queue.js';
import type { EventTransport, Subscription } from './transport.js';

/** Events a subscriber may have waiting; one that falls this far behind is ended rather than allowed to grow memory. */
export const LIVE_QUEUE_LENGTH_MAX = 1000;

export interface LiveFeed {
  /** Events from now on that pass `accept`, until the caller stops iterating or the feed stops. */
  subscribe(accept: (envelope: Envelope) => boolean): AsyncIterableIterator<Envelope>;
  stop(): Promise<void>;
}

interface Listener {
  accept(envelope: Envelope): boolean;
  queue: PushQueue<Envelope>;
}

/**
 * The source of a subgraph's Subscription resolvers: one consumer per service instance, in a consumer group of
 * its own reading from now (every instance must see every event), fanned out to the GraphQL subscribers of
 * this instance with a bounded queue each.
 */
export async function startLiveFeed(options: { transport: EventTransport; topics: readonly Topic[]; service: string; log: Logger }): Promise<LiveFeed> {
  const listeners = new Set<Listener>();
  const subscription: Subscription = await options.transport.subscribe({
    topics: options.topics,
    groupId: `${options.service}.live.${randomUUID()}`,
    fromBeginning: false,
    handle: async (envelope) => {
      for (const listener of listeners) if (listener.accept(envelope)) listener.queue.push(envelope);
    },
    onPoison: (reason, position) => options.log.warn({ reason, ...position }, 'live feed skipped a message that is not an event'),
  });

  return {
    subscribe(accept) {
      const listener: Listener = {
        accept,
        queue: createPushQueue<Envelope>({
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
