import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { retirementsOf, transactionsOf } from '../reads/history.js';
import type { TransactionServiceDeps } from '../deps.js';

/** A user's history is theirs and an ADMIN's; asking for anyone else's is FORBIDDEN, on this path as on every other. */
function ownHistory(identity: SubgraphContext['identity'], userId: string): string {
  requireOwnerOrAdmin(identity, userId, 'Only the account holder sees their history');
  return userId;
}

export const userResolvers = (deps: TransactionServiceDeps): UserResolvers => ({
  transactions: (user, page, { identity }) => transactionsOf(deps.db, ownHistory(identity, user.id), page),
  retirements: (user, page, { identity }) => retirementsOf(deps.db, ownHistory(identity, user.id), page),
});
