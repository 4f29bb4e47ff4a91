import type { Envelope } from '../../../../lib/events/envelope.js';
import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import { unauthenticated } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleWallet } from '../accounts/visibility.js';
import type { UserServiceDeps } from './context.js';

export const subscriptionResolvers = (deps: UserServiceDeps, feed: LiveFeed) => ({
  walletUpdated: {
    subscribe: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => {
      if (!identity) throw unauthenticated();
      return feed.subscribe((envelope) => envelope.data.userId === identity.userId);
    },
    // The event names the wallet; its balance now comes from the table, through the same visibility check.
    resolve: (envelope: Envelope, _args: unknown, { identity }: SubgraphContext) => findVisibleWallet(deps, identity, envelope.data.walletId),
  },
});
