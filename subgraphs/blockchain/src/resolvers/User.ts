import type { Address } from 'viem';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { BlockchainServiceDeps } from '../deps.js';

export const userResolvers = (deps: BlockchainServiceDeps): UserResolvers => ({
  async chainAccount(user, _args, { identity }) {
    requireOwnerOrAdmin(identity, user.id, 'Only the account holder sees their chain account');
    const account = await deps.custody.accountOf(user.id);
    return { address: account.address as Address, userId: user.id };
  },
});
