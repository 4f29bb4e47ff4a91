import type { Address } from 'viem';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { type BlockchainServiceDeps, ownOrAdmin } from './context.js';

export const userResolvers = (deps: BlockchainServiceDeps): UserResolvers => ({
  async chainAccount(user, _args, { identity }) {
    ownOrAdmin(identity, user.id, 'Only the account holder sees their chain account');
    const account = await deps.custody.accountOf(user.id);
    return { address: account.address as Address, userId: user.id };
  },
});
