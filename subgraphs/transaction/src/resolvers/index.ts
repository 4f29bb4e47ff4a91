import { trimDecimal } from '../../../../lib/decimal.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar, DecimalScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import { formatAmount } from '../../../../lib/money.js';
import type { TransactionServiceDeps } from '../deps.js';
import { mutationResolvers } from './Mutation.js';
import { queryResolvers } from './Query.js';
import { subscriptionResolvers } from './Subscription.js';
import { retirementResolvers, transactionResolvers } from './Transaction.js';
import { userResolvers } from './User.js';
import { transactionReads } from '../reads/history.js';

export function createResolvers(deps: TransactionServiceDeps): GraphQLResolverMap<SubgraphContext> {
  const reads = transactionReads(deps.db);
  const resolvers: Resolvers = {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Decimal: DecimalScalar,
    Query: queryResolvers(deps, reads),
    Mutation: mutationResolvers(deps),
    Subscription: subscriptionResolvers(deps, reads),
    User: userResolvers(deps),
    Transaction: transactionResolvers(reads),
    Retirement: retirementResolvers(reads),
    CarbonQuote: {
      tonnes: (quote) => formatAmount(BigInt(quote.carbonAmount), 'CARBON'),
      totalUsd: (quote) => formatAmount(BigInt(quote.usdAmount), 'USD'),
      pricePerTonne: (quote) => trimDecimal(quote.pricePerTonne),
    },
  };
  return resolvers as GraphQLResolverMap<SubgraphContext>;
}
