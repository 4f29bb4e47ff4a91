import type { Address } from 'viem';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type BlockchainServiceDeps, ownOrAdmin } from './context.js';

export interface ChainAccountParent {
  address: Address;
  userId: string;
}

export const userResolvers = (deps: BlockchainServiceDeps) => ({
  async chainAccount(user: { id: string }, _args: unknown, { identity }: SubgraphContext): Promise<ChainAccountParent> {
    ownOrAdmin(identity, user.id, 'Only the account holder sees their chain account');
    const account = await deps.custody.accountOf(user.id);
    return { address: account.address as Address, userId: user.id };
  },
});
