import { asc, sql } from 'drizzle-orm';
import { badInput } from '../../../../lib/errors.js';
import { CURRENCIES, type Currency, formatAmount } from '../../../../lib/money.js';
import { wallets } from '../db/schema.js';
import type { UserServiceDeps } from '../resolvers/context.js';

export const SNAPSHOT_ACCOUNTS_MAX = 10_000;

/** Totals and balances from one repeatable-read snapshot, so a transfer is never seen half-applied. */
export async function ledgerSnapshot({ db }: UserServiceDeps, first: number) {
  if (!Number.isInteger(first) || first < 1 || first > SNAPSHOT_ACCOUNTS_MAX) throw badInput(`first must be between 1 and ${SNAPSHOT_ACCOUNTS_MAX}`, { field: 'first' });
  return db.transaction(
    async (tx) => {
      // now() is the transaction's start: the instant the snapshot shows.
      const [clock] = await tx.execute<{ taken_at: string }>(sql`select now()::text as taken_at`);
      const totals = await tx.select({ currency: wallets.currency, total: sql<string>`sum(${wallets.balance})::text` }).from(wallets).groupBy(wallets.currency);
      const accounts = await tx
        .select()
        .from(wallets)
        .orderBy(sql`${wallets.systemAccount} is null`, asc(wallets.id))
        .limit(first);
      const totalOf = new Map(totals.map((row) => [row.currency, BigInt(row.total)]));
      return {
        takenAt: new Date(String(clock?.taken_at)),
        totals: CURRENCIES.map((currency: Currency) => ({ currency, total: formatAmount(totalOf.get(currency) ?? 0n, currency) })),
        accounts: accounts.map((wallet) => ({
          walletId: wallet.id,
          ownerId: wallet.userId,
          systemAccount: wallet.systemAccount?.toUpperCase() ?? null,
          currency: wallet.currency,
          balance: formatAmount(BigInt(wallet.balance), wallet.currency),
        })),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
