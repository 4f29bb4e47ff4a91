import type { EventTransport, Subscription } from './transport.js';

export interface GroupLag {
  group: string;
  topic: string;
  messages: number;
}

/**
 * The transport as a service hands it to its code, remembering the subscriptions made through it, so the
 * service reports the lag of its own consumers only (under `npm start` five services share one in-process bus).
 */
export function withLagTracking(transport: EventTransport): { transport: EventTransport; lag(): Promise<GroupLag[]> } {
  const open = new Map<Subscription, string>();
  return {
    transport: {
      publish: (envelopes, metadata) => transport.publish(envelopes, metadata),
      async subscribe(options) {
        const subscription = await transport.subscribe(options);
        open.set(subscription, options.groupId);
        return {
          lag: async () => (await subscription.lag?.()) ?? [],
          close() {
            open.delete(subscription);
            return subscription.close();
          },
        };
      },
      close: () => transport.close(),
    },
    async lag() {
      const perSubscription = await Promise.all(
        [...open].map(async ([subscription, group]) => ((await subscription.lag?.()) ?? []).map(({ topic, messages }) => ({ group, topic, messages }))),
      );
      return perSubscription.flat();
    },
  };
}
