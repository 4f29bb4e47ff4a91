import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { chainAccountResolvers, stakePositionResolvers } from './ChainAccount.js';
import { chainTransactionResolvers } from './ChainTransaction.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { BlockchainServiceDeps } from '../deps.js';
import { mutationResolvers } from './Mutation.js';
import { queryResolvers } from './Query.js';
import { retirementResolvers } from './Retirement.js';
import { userResolvers } from './User.js';

export function createResolvers(deps: BlockchainServiceDeps): GraphQLResolverMap<SubgraphContext> {
  const resolvers: Resolvers = {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Query: queryResolvers(deps),
    Mutation: mutationResolvers(deps),
    User: userResolvers(deps),
    ChainAccount: chainAccountResolvers(deps),
    StakePosition: stakePositionResolvers(deps),
    ChainTransaction: chainTransactionResolvers(deps),
    Retirement: retirementResolvers(deps),
  };
  return resolvers as GraphQLResolverMap<SubgraphContext>;
}
