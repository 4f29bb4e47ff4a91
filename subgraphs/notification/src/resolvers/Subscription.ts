import type { Envelope } from '../../../../lib/events/envelope.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { visibleNotification } from '../notifications/store.js';
import { type NotificationServiceDeps, signedIn } from './context.js';

export const subscriptionResolvers = (deps: NotificationServiceDeps) => ({
  notificationAdded: {
    subscribe: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((envelope) => envelope.data.userId === caller.userId);
    },
    // The event names the notification; it is read back from the table, checked against the caller again.
    resolve: (envelope: Envelope, _args: unknown, { identity }: SubgraphContext) => visibleNotification(deps.db, signedIn(identity), envelope.data.id),
  },
});
