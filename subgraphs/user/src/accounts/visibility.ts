import { isOwnerOrAdmin } from '../../../../lib/auth/access.js';
import { isUuid } from '../../../../lib/ids.js';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { UserServiceDeps } from '../deps.js';
import { type UserRow, users, type WalletRow, wallets } from '../db/schema.js';


/*
 * A user's account data (email, role, wallets, balances) is theirs and an ADMIN's (isOwnerOrAdmin); nobody else's.
 * Checked in the query itself, on every path. The public profile (id and display name) is visible to any signed-in
 * user, so a transfer or payment can show who it came from.
 */

export async function findVisibleUser({ db }: UserServiceDeps, identity: Identity | null, userId: unknown): Promise<UserRow | null> {
  if (!isUuid(userId) || !isOwnerOrAdmin(identity, userId)) return null;
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  return user ?? null;
}

/** Any signed-in caller may resolve a user's profile; the private fields check `isOwnerOrAdmin` themselves. */
export async function findProfile({ db }: UserServiceDeps, identity: Identity | null, userId: unknown): Promise<UserRow | null> {
  if (identity === null || !isUuid(userId)) return null;
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  return user ?? null;
}

/** A user wallet the caller may see; system accounts are never visible through the API. */
export async function findVisibleWallet({ db }: UserServiceDeps, identity: Identity | null, walletId: unknown): Promise<WalletRow | null> {
  if (identity === null || !isUuid(walletId)) return null;
  const owner = identity.role === 'ADMIN' ? isNotNull(wallets.userId) : eq(wallets.userId, identity.userId);
  const [wallet] = await db.select().from(wallets).where(and(eq(wallets.id, walletId), owner));
  return wallet ?? null;
}
