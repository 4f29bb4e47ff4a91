import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleUser, userReads } from '../accounts/visibility.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { UserServiceDeps } from '../deps.js';
import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import { mutationResolvers } from './Mutation.js';
import { subscriptionResolvers } from './Subscription.js';
import { queryResolvers } from './Query.js';
import { userResolvers } from './User.js';
import { walletResolvers } from './Wallet.js';

export function createResolvers(deps: UserServiceDeps, feed: LiveFeed<'wallet.updated'>): GraphQLResolverMap<SubgraphContext> {
  const reads = userReads(deps);
  const resolvers: Resolvers = {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Query: queryResolvers(deps, reads),
    Mutation: mutationResolvers(deps),
    Subscription: subscriptionResolvers(reads, feed),
    User: userResolvers(reads),
    Wallet: walletResolvers(reads),
    // Owners in a snapshot are shown to an ADMIN only, who may see every user.
    LedgerAccount: {
      owner: (account, _args, { loaders }) => (account.ownerId ? findVisibleUser(reads, loaders, account.ownerId) : null),
    },
  };
  return resolvers as GraphQLResolverMap<SubgraphContext>;
}
