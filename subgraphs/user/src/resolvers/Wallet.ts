import { eq } from 'drizzle-orm';
import { formatAmount } from '../../../../lib/money.js';
import { findVisibleWallet } from '../accounts/visibility.js';
import { users } from '../db/schema.js';
import type { WalletResolvers } from '../generated/resolvers-types.js';
import type { UserServiceDeps } from '../deps.js';

export const walletResolvers = (deps: UserServiceDeps): WalletResolvers => ({
  __resolveReference(reference, { identity }) {
    return findVisibleWallet(deps, identity, reference.id);
  },
  balance(wallet) {
    return formatAmount(BigInt(wallet.balance), wallet.currency);
  },
  async owner(wallet) {
    if (!wallet.userId) throw new Error(`system wallet ${wallet.id} reached the API`);
    const [user] = await deps.db.select().from(users).where(eq(users.id, wallet.userId));
    if (!user) throw new Error(`wallet ${wallet.id} has no owner row`);
    return user;
  },
});
