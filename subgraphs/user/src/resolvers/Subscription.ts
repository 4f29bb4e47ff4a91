import type { Envelope } from '../../../../lib/events/envelope.js';
import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import { unauthenticated } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleWallet } from '../accounts/visibility.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import type { UserServiceDeps } from './context.js';

export const subscriptionResolvers = (deps: UserServiceDeps, feed: LiveFeed): SubscriptionResolvers => ({
  walletUpdated: {
    subscribe: (_parent, _args, { identity }) => {
      if (!identity) throw unauthenticated();
      return feed.subscribe((envelope) => envelope.data.userId === identity.userId);
    },
    // The event names the wallet; its balance now comes from the table, through the same visibility check.
    async resolve(envelope: Envelope, _args: unknown, { identity }: SubgraphContext) {
      const wallet = await findVisibleWallet(deps, identity, envelope.data.walletId);
      // The feed passes only the caller's own wallets, so this is a bug, not a refusal.
      if (!wallet) throw new Error(`wallet.updated event for wallet ${String(envelope.data.walletId)} that its user cannot see`);
      return wallet;
    },
  },
});
