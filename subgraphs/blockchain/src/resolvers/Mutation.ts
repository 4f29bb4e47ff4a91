import { badInput, forbidden } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { parseAmount } from '../../../../lib/money.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { createWalletLinkChallenge, linkWallet, parseAddressInput } from '../chain/wallet-link.js';
import { claimStakingRewards, mintToUser, stakeCarbon, unstakeCarbon } from '../chain/staking.js';
import { type BlockchainServiceDeps, signedIn } from './context.js';

export const mutationResolvers = (deps: BlockchainServiceDeps) => ({
  stake: (_root: unknown, args: { amount: string }, { identity }: SubgraphContext) => {
    const caller = signedIn(identity);
    const amountMinor = parseAmount(args.amount, 'CARBON');
    return deps.userLocks.run(caller.userId, () => stakeCarbon(deps, caller.userId, amountMinor));
  },
  unstake: (_root: unknown, args: { amount: string }, { identity }: SubgraphContext) => {
    const caller = signedIn(identity);
    const amountMinor = parseAmount(args.amount, 'CARBON');
    return deps.userLocks.run(caller.userId, () => unstakeCarbon(deps, caller.userId, amountMinor));
  },
  claimRewards: (_root: unknown, _args: unknown, { identity }: SubgraphContext) => {
    const caller = signedIn(identity);
    return deps.userLocks.run(caller.userId, () => claimStakingRewards(deps, caller.userId));
  },
  mintCarbonOnChain: (_root: unknown, args: { userId: string; amount: string }, { identity }: SubgraphContext) => {
    if (signedIn(identity).role !== 'ADMIN') throw forbidden('Only an ADMIN mints carbon on chain');
    if (!isUuid(args.userId)) throw badInput('userId must be a user id', { field: 'userId' });
    return mintToUser(deps, args.userId, parseAmount(args.amount, 'CARBON'));
  },
  walletLinkChallenge: (_root: unknown, args: { address: string }, { identity }: SubgraphContext) =>
    createWalletLinkChallenge(deps, deps.siwe, signedIn(identity).userId, parseAddressInput(args.address, 'address')),
  linkWallet: (_root: unknown, args: { message: string; signature: string }, { identity }: SubgraphContext) =>
    linkWallet(deps, deps.siwe, signedIn(identity).userId, args.message, args.signature),
});
