import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { forbidden, unauthenticated } from '../../../../lib/errors.js';
import { findVisibleUser, type UserReads } from '../accounts/visibility.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { ledgerSnapshot } from '../ledger/snapshot.js';
import type { UserServiceDeps } from '../deps.js';

export const queryResolvers = (deps: UserServiceDeps, reads: UserReads): QueryResolvers => ({
  async me(_parent, _args, { identity, loaders }) {
    if (!identity) throw unauthenticated();
    const user = await findVisibleUser(reads, loaders, identity.userId);
    if (!user) throw unauthenticated('This account no longer exists');
    return user;
  },
  async user(_parent, { id }, { identity, loaders }) {
    requireOwnerOrAdmin(identity, id, 'You can only look up your own account');
    return findVisibleUser(reads, loaders, id);
  },
  ledgerSnapshot(_parent, { first }, { identity }) {
    if (!identity) throw unauthenticated();
    if (identity.role !== 'ADMIN') throw forbidden('The ledger snapshot is for administrators');
    return ledgerSnapshot(deps, first);
  },
});
