import type { QueryResolvers } from '../generated/resolvers-types.js';
import { type TransactionReads, transactionsOf } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { TransactionServiceDeps } from '../deps.js';

export const queryResolvers = (deps: TransactionServiceDeps, reads: TransactionReads): QueryResolvers => ({
  transaction: (_parent, { id }, { identity, loaders }) => {
    signedIn(identity);
    return reads.visibleTransactions.one(loaders, id);
  },
  transactions: (_parent, page, { identity }) => transactionsOf(deps.db, signedIn(identity).userId, page),
});
