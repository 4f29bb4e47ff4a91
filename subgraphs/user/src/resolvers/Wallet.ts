import { eq } from 'drizzle-orm';
import { formatAmount } from '../../../../lib/money.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleWallet } from '../accounts/visibility.js';
import { users, type WalletRow } from '../db/schema.js';
import type { UserServiceDeps } from './context.js';

export const walletResolvers = (deps: UserServiceDeps) => ({
  __resolveReference(reference: { id: unknown }, { identity }: SubgraphContext) {
    return findVisibleWallet(deps, identity, reference.id);
  },
  balance(wallet: WalletRow) {
    return formatAmount(BigInt(wallet.balance), wallet.currency);
  },
  async owner(wallet: WalletRow) {
    if (!wallet.userId) throw new Error(`system wallet ${wallet.id} reached the API`);
    const [user] = await deps.db.select().from(users).where(eq(users.id, wallet.userId));
    return user;
  },
});
