import { and, asc, eq } from 'drizzle-orm';
import { isOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { forbidden } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findProfile } from '../accounts/visibility.js';
import { type UserRow, wallets } from '../db/schema.js';
import type { UserResolvers, UserWalletArgs } from '../generated/resolvers-types.js';
import type { UserServiceDeps } from '../deps.js';

/**
 * Rows handed to the person who just proved they own them (register, login) before they have a token.
 * Each row object lives only as long as that one response, so this grants nothing beyond it.
 */
const justSignedIn = new WeakSet<UserRow>();
export function asSignedIn(user: UserRow): UserRow {
  justSignedIn.add(user);
  return user;
}

/** Fields only the account holder and ADMINs see; anyone else asking gets FORBIDDEN, never the value. */
function accountHolderOnly<Args, Result>(resolve: (user: UserRow, args: Args) => Result) {
  return (user: UserRow, args: Args, { identity }: SubgraphContext): Result => {
    if (!justSignedIn.has(user) && !isOwnerOrAdmin(identity, user.id)) throw forbidden('Only the account holder sees this');
    return resolve(user, args);
  };
}

export const userResolvers = (deps: UserServiceDeps): UserResolvers => ({
  __resolveReference(reference, { identity }) {
    return findProfile(deps, identity, reference.id);
  },
  email: accountHolderOnly((user) => user.email),
  role: accountHolderOnly((user) => user.role),
  createdAt: accountHolderOnly((user) => user.createdAt),
  // Enum order of `currency` is USD, ETH, CARBON, which is the order the API promises.
  wallets: accountHolderOnly((user) => deps.db.select().from(wallets).where(eq(wallets.userId, user.id)).orderBy(asc(wallets.currency))),
  wallet: accountHolderOnly(async (user, { currency }: UserWalletArgs) => {
    const [wallet] = await deps.db.select().from(wallets).where(and(eq(wallets.userId, user.id), eq(wallets.currency, currency)));
    return wallet ?? null;
  }),
});
