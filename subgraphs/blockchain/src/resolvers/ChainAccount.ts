import { asc, inArray } from 'drizzle-orm';
import { BatchedRead } from '../../../../lib/server/request-loaders.js';
import { formatAmount } from '../../../../lib/money.js';
import { carbonBalanceOf, ethBalanceOf, rewardsOf, stakedOf } from '../chain/reads.js';
import { linkedWallets } from '../db/schema.js';
import type { ChainAccountResolvers, StakePositionResolvers } from '../generated/resolvers-types.js';
import type { BlockchainServiceDeps } from '../deps.js';

export const chainAccountResolvers = (deps: BlockchainServiceDeps): ChainAccountResolvers => {
  // Only the account holder or an ADMIN reaches a ChainAccount (User.chainAccount checks), so the read checks nothing.
  const linkedOfUsers = new BatchedRead(
    (userIds) => deps.db.select({ userId: linkedWallets.userId, address: linkedWallets.address }).from(linkedWallets).where(inArray(linkedWallets.userId, userIds)).orderBy(asc(linkedWallets.linkedAt)),
    (row) => row.userId,
  );
  return {
    carbonBalance: async (account) => formatAmount(await carbonBalanceOf(deps.chain, account.address), 'CARBON'),
    ethBalance: async (account) => formatAmount(await ethBalanceOf(deps.chain, account.address), 'ETH'),
    stake: (account) => account,
    linkedAddresses: async (account, _args, { loaders }) => (await linkedOfUsers.all(loaders, account.userId)).map((row) => row.address),
  };
};

export const stakePositionResolvers = (deps: BlockchainServiceDeps): StakePositionResolvers => ({
  staked: async (account) => formatAmount(await stakedOf(deps.chain, account.address), 'CARBON'),
  rewards: async (account) => formatAmount(await rewardsOf(deps.chain, account.address), 'CARBON'),
});
