import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { UserServiceDeps } from './context.js';
import { mutationResolvers } from './Mutation.js';
import { queryResolvers } from './Query.js';
import { userResolvers } from './User.js';
import { walletResolvers } from './Wallet.js';

export function createResolvers(deps: UserServiceDeps): GraphQLResolverMap<SubgraphContext> {
  return {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Query: queryResolvers(deps),
    Mutation: mutationResolvers(deps),
    User: userResolvers(deps),
    Wallet: walletResolvers(deps),
  } as GraphQLResolverMap<SubgraphContext>;
}
