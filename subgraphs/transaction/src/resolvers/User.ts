import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { retirementsOf, transactionsOf } from '../reads/history.js';
import type { TransactionServiceDeps } from '../deps.js';

const OWNER_ONLY = 'Only the account holder sees their history';

export const userResolvers = (deps: TransactionServiceDeps): UserResolvers => ({
  transactions(user, page, { identity }) {
    requireOwnerOrAdmin(identity, user.id, OWNER_ONLY);
    return transactionsOf(deps.db, user.id, page);
  },
  retirements(user, page, { identity }) {
    requireOwnerOrAdmin(identity, user.id, OWNER_ONLY);
    return retirementsOf(deps.db, user.id, page);
  },
});
