import type { Event } from '../../../../lib/events/contracts/index.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { NotificationServiceDeps } from '../deps.js';
import type { BatchedRead } from '../../../../lib/server/request-loaders.js';
import type { NotificationRow } from '../db/schema.js';

export const subscriptionResolvers = (deps: NotificationServiceDeps, visibleNotifications: BatchedRead<NotificationRow>): SubscriptionResolvers => ({
  notificationAdded: {
    subscribe: (_parent, _args, { identity }) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((event) => event.data.userId === caller.userId);
    },
    // The event names the notification; it is read back from the table, checked against the caller again.
    async resolve(event: Event<'notification.created'>, _args: unknown, { identity, loaders }: SubgraphContext) {
      signedIn(identity);
      const notification = await visibleNotifications.one(loaders, event.data.id);
      // The feed passes only the caller's own notifications, so this is a bug, not a refusal.
      if (!notification) throw new Error(`notification.created event for notification ${event.data.id} that its user cannot see`);
      return notification;
    },
  },
});
