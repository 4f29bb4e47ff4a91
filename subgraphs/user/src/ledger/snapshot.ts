import { asc, sql } from 'drizzle-orm';
import { badInput } from '../../../../lib/errors.js';
import { CURRENCIES, type Currency, formatAmount } from '../../../../lib/money.js';
import { wallets } from '../db/schema.js';
import type { UserServiceDeps } from '../deps.js';

export const SNAPSHOT_ACCOUNTS_MAX = 10_000;

/** The API's names of the system accounts (the database's are lower case). */
const SYSTEM_ACCOUNT_NAMES = { external: 'EXTERNAL', market: 'MARKET', retired: 'RETIRED' } as const;

/** One wallet in a snapshot, as `LedgerAccount`'s resolvers receive it: the owner by id, resolved only when asked. */
export interface LedgerAccountView {
  walletId: string;
  ownerId: string | null;
  systemAccount: (typeof SYSTEM_ACCOUNT_NAMES)[keyof typeof SYSTEM_ACCOUNT_NAMES] | null;
  currency: Currency;
  balance: string;
}

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
        accounts: accounts.map(
          (wallet): LedgerAccountView => ({
            walletId: wallet.id,
            ownerId: wallet.userId,
            systemAccount: wallet.systemAccount ? SYSTEM_ACCOUNT_NAMES[wallet.systemAccount] : null,
            currency: wallet.currency,
            balance: formatAmount(BigInt(wallet.balance), wallet.currency),
          }),
        ),
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
