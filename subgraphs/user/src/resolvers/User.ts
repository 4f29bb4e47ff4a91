import { and, asc, eq } from 'drizzle-orm';
import type { Currency } from '../../../../lib/money.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { findVisibleUser } from '../accounts/visibility.js';
import { type UserRow, wallets } from '../db/schema.js';
import type { UserServiceDeps } from './context.js';

/** A User reaches these resolvers only after a visibility check (me, user, or __resolveReference). */
export const userResolvers = (deps: UserServiceDeps) => ({
  __resolveReference(reference: { id: unknown }, { identity }: SubgraphContext) {
    return findVisibleUser(deps, identity, reference.id);
  },
  // Enum order of `currency` is USD, ETH, CARBON, which is the order the API promises.
  wallets(user: UserRow) {
    return deps.db.select().from(wallets).where(eq(wallets.userId, user.id)).orderBy(asc(wallets.currency));
  },
  async wallet(user: UserRow, { currency }: { currency: Currency }) {
    const [wallet] = await deps.db.select().from(wallets).where(and(eq(wallets.userId, user.id), eq(wallets.currency, currency)));
    return wallet ?? null;
  },
});
