import type { QueryResolvers } from '../generated/resolvers-types.js';
import { transactionsOf, visibleTransaction } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { TransactionServiceDeps } from '../deps.js';

export const queryResolvers = (deps: TransactionServiceDeps): QueryResolvers => ({
  transaction: (_parent, { id }, { identity }) => visibleTransaction(deps.db, signedIn(identity), id),
  transactions: (_parent, page, { identity }) => transactionsOf(deps.db, signedIn(identity).userId, page),
});
