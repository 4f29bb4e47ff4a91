import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar, DecimalScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { PriceServiceDeps } from './context.js';
import { conversionResolvers } from './Conversion.js';
import { priceResolvers } from './Price.js';
import { queryResolvers } from './Query.js';
import { subscriptionResolvers } from './Subscription.js';

export function createResolvers(deps: PriceServiceDeps): GraphQLResolverMap<SubgraphContext> {
  return {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Decimal: DecimalScalar,
    Query: queryResolvers(deps),
    Subscription: subscriptionResolvers(deps),
    Price: priceResolvers(deps),
    Conversion: conversionResolvers(deps),
  } as GraphQLResolverMap<SubgraphContext>;
}
