import { formatAmount } from '../../../../lib/money.js';
import { findVisibleWallet, type UserReads } from '../accounts/visibility.js';
import type { WalletResolvers } from '../generated/resolvers-types.js';

export const walletResolvers = (reads: UserReads): WalletResolvers => ({
  __resolveReference(reference, { loaders }) {
    return findVisibleWallet(reads, loaders, reference.id);
  },
  balance(wallet) {
    return formatAmount(BigInt(wallet.balance), wallet.currency);
  },
  // Whoever may see the wallet may see its owner (a register or login answer shows it before there is a token).
  async owner(wallet, _args, { loaders }) {
    if (!wallet.userId) throw new Error(`system wallet ${wallet.id} reached the API`);
    const user = await reads.users.one(loaders, wallet.userId);
    if (!user) throw new Error(`wallet ${wallet.id} has no owner row`);
    return user;
  },
});
