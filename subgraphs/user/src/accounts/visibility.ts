import { and, asc, eq, inArray, isNotNull } from 'drizzle-orm';
import { isOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { isUuid } from '../../../../lib/ids.js';
import { BatchedRead, type RequestLoaders } from '../../../../lib/server/request-loaders.js';
import type { UserServiceDeps } from '../deps.js';
import { type UserRow, users, type WalletRow, wallets } from '../db/schema.js';

/*
 * A user's account data (email, role, wallets, balances) is theirs and an ADMIN's (isOwnerOrAdmin); nobody else's.
 * Checked on every path, before or in the query. The public profile (id and display name) is visible to any
 * signed-in user, so a transfer or payment can show who it came from. Every read is batched per request
 * (lib/server/request-loaders.ts): a gateway fetch of 20 profiles is one statement.
 */

/** The user subgraph's batched reads, made once per service and shared by its resolvers. */
export interface UserReads {
  /** Users by id, whoever asks: callers decide first what the caller may see. */
  users: BatchedRead<UserRow>;
  /** A user's own wallets, by user id; callers check that the caller is the account holder first. */
  walletsOfUsers: BatchedRead<WalletRow>;
  /** User wallets the caller may see, by wallet id; system accounts are never visible through the API. */
  visibleWallets: BatchedRead<WalletRow>;
}

export function userReads({ db }: UserServiceDeps): UserReads {
  return {
    users: new BatchedRead((ids) => db.select().from(users).where(inArray(users.id, ids)), (user) => user.id),
    walletsOfUsers: new BatchedRead(
      // Enum order of `currency` is USD, ETH, CARBON, which is the order the API promises.
      (userIds) => db.select().from(wallets).where(inArray(wallets.userId, userIds)).orderBy(asc(wallets.currency)),
      (wallet) => wallet.userId as string,
    ),
    visibleWallets: new BatchedRead(async (ids, identity) => {
      if (identity === null) return [];
      const owner = identity.role === 'ADMIN' ? isNotNull(wallets.userId) : eq(wallets.userId, identity.userId);
      return db.select().from(wallets).where(and(inArray(wallets.id, ids), owner));
    }, (wallet) => wallet.id),
  };
}

/** The account data of `userId` if the caller owns it or is an ADMIN; null otherwise. */
export function findVisibleUser(reads: UserReads, loaders: RequestLoaders, userId: unknown): Promise<UserRow | null> {
  if (!isUuid(userId) || !isOwnerOrAdmin(loaders.identity, userId)) return Promise.resolve(null);
  return reads.users.one(loaders, userId);
}

/** Any signed-in caller may resolve a user's profile; the private fields check `isOwnerOrAdmin` themselves. */
export function findProfile(reads: UserReads, loaders: RequestLoaders, userId: unknown): Promise<UserRow | null> {
  if (loaders.identity === null) return Promise.resolve(null);
  return reads.users.one(loaders, userId);
}

export function findVisibleWallet(reads: UserReads, loaders: RequestLoaders, walletId: unknown): Promise<WalletRow | null> {
  return reads.visibleWallets.one(loaders, walletId);
}
