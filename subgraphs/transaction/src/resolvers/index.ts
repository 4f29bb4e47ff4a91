import { trimDecimal } from '../../../../lib/decimal.js';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { AmountScalar, DateTimeScalar, DecimalScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { QuoteRow } from '../db/schema.js';
import { formatAmount } from '../../../../lib/money.js';
import type { TransactionServiceDeps } from './context.js';
import { mutationResolvers } from './Mutation.js';
import { queryResolvers } from './Query.js';
import { subscriptionResolvers } from './Subscription.js';
import { retirementResolvers, transactionResolvers } from './Transaction.js';
import { userResolvers } from './User.js';

export function createResolvers(deps: TransactionServiceDeps): GraphQLResolverMap<SubgraphContext> {
  return {
    Amount: AmountScalar,
    DateTime: DateTimeScalar,
    Decimal: DecimalScalar,
    Query: queryResolvers(deps),
    Mutation: mutationResolvers(deps),
    Subscription: subscriptionResolvers(deps),
    User: userResolvers(deps),
    Transaction: transactionResolvers(deps),
    Retirement: retirementResolvers(deps),
    CarbonQuote: {
      tonnes: (quote: QuoteRow) => formatAmount(BigInt(quote.carbonAmount), 'CARBON'),
      totalUsd: (quote: QuoteRow) => formatAmount(BigInt(quote.usdAmount), 'USD'),
      pricePerTonne: (quote: QuoteRow) => trimDecimal(quote.pricePerTonne),
    },
  } as GraphQLResolverMap<SubgraphContext>;
}
