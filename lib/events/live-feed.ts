import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Envelope, Topic } from './envelope.js';
import type { EventTransport, Subscription } from './transport.js';

/** Events a subscriber may have waiting; one that falls this far behind is ended rather than allowed to grow memory. */
export const LIVE_QUEUE_LENGTH_MAX = 1000;

export interface LiveFeed {
  /** Events from now on that pass `accept`, until the caller stops iterating or the feed stops. */
  subscribe(accept: (envelope: Envelope) => boolean): AsyncGenerator<Envelope, void, undefined>;
  stop(): Promise<void>;
}

interface Listener {
  accept(envelope: Envelope): boolean;
  queue: Envelope[];
  wake: (() => void) | null;
  failure: AppError | null;
  ended: boolean;
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
      for (const listener of listeners) {
        if (listener.ended || !listener.accept(envelope)) continue;
        if (listener.queue.length >= LIVE_QUEUE_LENGTH_MAX) {
          listener.failure = new AppError('RATE_LIMITED', 'This subscription fell too far behind the events and was ended; subscribe again');
          listener.ended = true;
        } else listener.queue.push(envelope);
        listener.wake?.();
      }
    },
    onPoison: (reason, position) => options.log.warn({ reason, ...position }, 'live feed skipped a message that is not an event'),
  });

  function end(listener: Listener) {
    listener.ended = true;
    listener.wake?.();
  }

  return {
    async *subscribe(accept) {
      const listener: Listener = { accept, queue: [], wake: null, failure: null, ended: false };
      listeners.add(listener);
      try {
        for (;;) {
          const next = listener.queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (listener.failure) throw listener.failure;
          if (listener.ended) return;
          await new Promise<void>((resolve) => {
            listener.wake = resolve;
          });
          listener.wake = null;
        }
      } finally {
        listeners.delete(listener);
      }
    },
    async stop() {
      for (const listener of listeners) end(listener);
      await subscription.close();
    },
  };
}
