import type { Event } from '../../../../lib/events/contracts/index.js';
import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import { unauthenticated } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleWallet, type UserReads } from '../accounts/visibility.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';

export const subscriptionResolvers = (reads: UserReads, feed: LiveFeed<'wallet.updated'>): SubscriptionResolvers => ({
  walletUpdated: {
    subscribe: (_parent, _args, { identity }) => {
      if (!identity) throw unauthenticated();
      return feed.subscribe((event) => event.data.userId === identity.userId);
    },
    // The event names the wallet; its balance now comes from the table, through the same visibility check.
    async resolve(event: Event<'wallet.updated'>, _args: unknown, { loaders }: SubgraphContext) {
      const wallet = await findVisibleWallet(reads, loaders, event.data.walletId);
      // The feed passes only the caller's own wallets, so this is a bug, not a refusal.
      if (!wallet) throw new Error(`wallet.updated event for wallet ${event.data.walletId} that its user cannot see`);
      return wallet;
    },
  },
});
