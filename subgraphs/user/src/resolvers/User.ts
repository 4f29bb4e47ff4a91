import { isOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { forbidden } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findProfile, type UserReads } from '../accounts/visibility.js';
import type { UserRow } from '../db/schema.js';
import type { UserResolvers, UserWalletArgs } from '../generated/resolvers-types.js';

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
function accountHolderOnly<Args, Result>(resolve: (user: UserRow, args: Args, context: SubgraphContext) => Result) {
  return (user: UserRow, args: Args, context: SubgraphContext): Result => {
    if (!justSignedIn.has(user) && !isOwnerOrAdmin(context.identity, user.id)) throw forbidden('Only the account holder sees this');
    return resolve(user, args, context);
  };
}

export const userResolvers = (reads: UserReads): UserResolvers => ({
  __resolveReference(reference, { loaders }) {
    return findProfile(reads, loaders, reference.id);
  },
  email: accountHolderOnly((user) => user.email),
  role: accountHolderOnly((user) => user.role),
  createdAt: accountHolderOnly((user) => user.createdAt),
  wallets: accountHolderOnly((user, _args, { loaders }) => reads.walletsOfUsers.all(loaders, user.id)),
  // One of the three wallets the list reads anyway: a list of users asking for a wallet each is one statement.
  wallet: accountHolderOnly(async (user, { currency }: UserWalletArgs, { loaders }) => {
    const owned = await reads.walletsOfUsers.all(loaders, user.id);
    return owned.find((wallet) => wallet.currency === currency) ?? null;
  }),
});
