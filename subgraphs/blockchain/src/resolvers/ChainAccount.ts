import { asc, eq } from 'drizzle-orm';
import { formatAmount } from '../../../../lib/money.js';
import { carbonBalanceOf, ethBalanceOf, rewardsOf, stakedOf } from '../chain/reads.js';
import { linkedWallets } from '../db/schema.js';
import type { BlockchainServiceDeps } from './context.js';
import type { ChainAccountParent } from './User.js';

export const chainAccountResolvers = (deps: BlockchainServiceDeps) => ({
  carbonBalance: async (account: ChainAccountParent) => formatAmount(await carbonBalanceOf(deps.chain, account.address), 'CARBON'),
  ethBalance: async (account: ChainAccountParent) => formatAmount(await ethBalanceOf(deps.chain, account.address), 'ETH'),
  stake: (account: ChainAccountParent) => account,
  linkedAddresses: async (account: ChainAccountParent) => {
    const rows = await deps.db.select({ address: linkedWallets.address }).from(linkedWallets).where(eq(linkedWallets.userId, account.userId)).orderBy(asc(linkedWallets.linkedAt));
    return rows.map((row) => row.address);
  },
});

export const stakePositionResolvers = (deps: BlockchainServiceDeps) => ({
  staked: async (account: ChainAccountParent) => formatAmount(await stakedOf(deps.chain, account.address), 'CARBON'),
  rewards: async (account: ChainAccountParent) => formatAmount(await rewardsOf(deps.chain, account.address), 'CARBON'),
});
