import { asc, eq } from 'drizzle-orm';
import { formatAmount } from '../../../../lib/money.js';
import { carbonBalanceOf, ethBalanceOf, rewardsOf, stakedOf } from '../chain/reads.js';
import { linkedWallets } from '../db/schema.js';
import type { ChainAccountResolvers, StakePositionResolvers } from '../generated/resolvers-types.js';
import type { BlockchainServiceDeps } from '../deps.js';

export const chainAccountResolvers = (deps: BlockchainServiceDeps): ChainAccountResolvers => ({
  carbonBalance: async (account) => formatAmount(await carbonBalanceOf(deps.chain, account.address), 'CARBON'),
  ethBalance: async (account) => formatAmount(await ethBalanceOf(deps.chain, account.address), 'ETH'),
  stake: (account) => account,
  linkedAddresses: async (account) => {
    const rows = await deps.db.select({ address: linkedWallets.address }).from(linkedWallets).where(eq(linkedWallets.userId, account.userId)).orderBy(asc(linkedWallets.linkedAt));
    return rows.map((row) => row.address);
  },
});

export const stakePositionResolvers = (deps: BlockchainServiceDeps): StakePositionResolvers => ({
  staked: async (account) => formatAmount(await stakedOf(deps.chain, account.address), 'CARBON'),
  rewards: async (account) => formatAmount(await rewardsOf(deps.chain, account.address), 'CARBON'),
});
