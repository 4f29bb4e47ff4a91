import { and, eq, gte, ne, sql } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput, forbidden } from '../../../../lib/errors.js';
import { type Currency, formatAmount } from '../../../../lib/money.js';
import { transactions } from '../db/schema.js';
import type { Admission } from './engine.js';

/** Development only: signed-in users may deposit USD and ETH to themselves, a little at a time and a day. */
export interface FaucetSettings {
  enabled: boolean;
  depositMaxMinor: Partial<Record<Currency, bigint>>;
  /** Per user, per currency, per UTC day; what is PENDING or COMPLETED counts. */
  dailyMaxMinor: Partial<Record<Currency, bigint>>;
}

/** A deposit by someone who is not an ADMIN: to themselves, in a faucet currency, within the per-deposit cap. */
export function checkFaucetDeposit(faucet: FaucetSettings, identity: Identity, input: { userId: string; currency: Currency }, amountMinor: bigint): void {
  const capMinor = faucet.depositMaxMinor[input.currency];
  if (!faucet.enabled || input.userId !== identity.userId || capMinor === undefined) throw forbidden('Only administrators make deposits');
  if (amountMinor > capMinor) throw badInput(`The development faucet gives at most ${formatAmount(capMinor, input.currency)} ${input.currency} at a time`, { field: 'amount' });
}

/**
 * The daily total, decided in the database so that concurrent requests cannot pass it together: under a lock per
 * user and currency, today's faucet deposits (this one included) are summed, and one that would pass the total is
 * refused and its row rolled back.
 */
export function faucetDailyTotal(faucet: FaucetSettings, userId: string, currency: Currency): Admission {
  const dailyMaxMinor = faucet.dailyMaxMinor[currency];
  if (dailyMaxMinor === undefined) throw forbidden('Only administrators make deposits');
  return async (tx, row) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`faucet:${userId}:${currency}`}))`);
    const [today] = await tx
      .select({ totalMinor: sql<string>`coalesce(sum(${transactions.amount}), 0)::text` })
      .from(transactions)
      .where(
        and(
          eq(transactions.type, 'DEPOSIT'),
          eq(transactions.initiatorId, userId),
          eq(transactions.toUserId, userId),
          eq(transactions.currency, currency),
          ne(transactions.status, 'FAILED'),
          gte(transactions.createdAt, sql`date_trunc('day', now(), 'UTC')`),
        ),
      );
    const totalMinor = BigInt(today?.totalMinor ?? '0');
    if (totalMinor <= dailyMaxMinor) return;
    const leftMinor = dailyMaxMinor - (totalMinor - BigInt(row.amount));
    throw badInput(
      `The development faucet gives at most ${formatAmount(dailyMaxMinor, currency)} ${currency} per user per day (UTC); ${formatAmount(leftMinor > 0n ? leftMinor : 0n, currency)} left today`,
      { field: 'amount' },
    );
  };
}
