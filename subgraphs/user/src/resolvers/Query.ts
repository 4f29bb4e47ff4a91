import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { forbidden, unauthenticated } from '../../../../lib/errors.js';
import { findVisibleUser } from '../accounts/visibility.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { ledgerSnapshot } from '../ledger/snapshot.js';
import type { UserServiceDeps } from '../deps.js';

export const queryResolvers = (deps: UserServiceDeps): QueryResolvers => ({
  async me(_parent, _args, { identity }) {
    if (!identity) throw unauthenticated();
    const user = await findVisibleUser(deps, identity, identity.userId);
    if (!user) throw unauthenticated('This account no longer exists');
    return user;
  },
  async user(_parent, { id }, { identity }) {
    requireOwnerOrAdmin(identity, id, 'You can only look up your own account');
    return findVisibleUser(deps, identity, id);
  },
  ledgerSnapshot(_parent, { first }, { identity }) {
    if (!identity) throw unauthenticated();
    if (identity.role !== 'ADMIN') throw forbidden('The ledger snapshot is for administrators');
    return ledgerSnapshot(deps, first);
  },
});
