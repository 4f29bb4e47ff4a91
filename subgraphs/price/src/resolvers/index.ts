import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar, DecimalScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { PriceServiceDeps } from '../deps.js';
import { conversionResolvers } from './Conversion.js';
import { priceResolvers } from './Price.js';
import { queryResolvers } from './Query.js';
import { subscriptionResolvers } from './Subscription.js';

export function createResolvers(deps: PriceServiceDeps): GraphQLResolverMap<SubgraphContext> {
  const resolvers: Resolvers = {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Decimal: DecimalScalar,
    Query: queryResolvers(deps),
    Subscription: subscriptionResolvers(deps),
    Price: priceResolvers(deps),
    Conversion: conversionResolvers(deps),
  };
  return resolvers as GraphQLResolverMap<SubgraphContext>;
}
