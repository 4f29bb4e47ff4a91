import { badInput, forbidden } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { parseAmount } from '../../../../lib/money.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { createWalletLinkChallenge, linkWallet, parseAddressInput } from '../chain/wallet-link.js';
import { claimStakingRewards, mintToUser, stakeCarbon, unstakeCarbon } from '../chain/staking.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { BlockchainServiceDeps } from '../deps.js';

export const mutationResolvers = (deps: BlockchainServiceDeps): MutationResolvers => ({
  stake: (_root, args, { identity }) => {
    const caller = signedIn(identity);
    const amountMinor = parseAmount(args.amount, 'CARBON');
    return deps.stakingLock(caller.userId, () => stakeCarbon(deps, caller.userId, amountMinor));
  },
  unstake: (_root, args, { identity }) => {
    const caller = signedIn(identity);
    const amountMinor = parseAmount(args.amount, 'CARBON');
    return deps.stakingLock(caller.userId, () => unstakeCarbon(deps, caller.userId, amountMinor));
  },
  claimRewards: (_root, _args, { identity }) => {
    const caller = signedIn(identity);
    return deps.stakingLock(caller.userId, () => claimStakingRewards(deps, caller.userId));
  },
  mintCarbonOnChain: (_root, args, { identity }) => {
    if (signedIn(identity).role !== 'ADMIN') throw forbidden('Only an ADMIN mints carbon on chain');
    if (!isUuid(args.userId)) throw badInput('userId must be a user id', { field: 'userId' });
    return mintToUser(deps, args.userId, parseAmount(args.amount, 'CARBON'));
  },
  walletLinkChallenge: (_root, args, { identity }) =>
    createWalletLinkChallenge(deps, deps.siwe, signedIn(identity).userId, parseAddressInput(args.address, 'address')),
  linkWallet: (_root, args, { identity }) =>
    linkWallet(deps, deps.siwe, signedIn(identity).userId, args.message, args.signature),
});
