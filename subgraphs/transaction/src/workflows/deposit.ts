import { and, eq, gte, ne, sql } from 'drizzle-orm';
import { signedIn } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { badInput, forbidden } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { type Currency, formatAmount, parseAmount } from '../../../../lib/money.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import type { FaucetSettings, TransactionDeps } from '../deps.js';
import { type Admission, resultOf, runTransaction } from './engine.js';
import { checkIdempotencyKey, lookUpUser } from './input-checks.js';
import { present, type Workflow } from './workflow.js';

/** Money in from outside, to one user's wallet. */
export const depositWorkflow: Workflow = {
  kind: 'deposit',
  type: 'DEPOSIT',
  entries: (deposit) => [
    { account: { system: 'external' }, currency: deposit.currency, amountMinor: String(-deposit.amount) },
    { account: { userId: present(deposit.toUserId, 'toUserId') }, currency: deposit.currency, amountMinor: String(deposit.amount) },
  ],
  mutations: (deps) => ({
    deposit: (_parent, { input, idempotencyKey }, { identity }) => deposit(deps, signedIn(identity), input, idempotencyKey),
  }),
  eventData: () => ({ type: 'DEPOSIT' }),
};

/** ADMINs for anyone; in development, anyone for themselves through the faucet, within its caps. */
export async function deposit(deps: TransactionDeps, identity: Identity, input: { userId: string; currency: Currency; amount: string }, idempotencyKey: string): Promise<TransactionRow> {
  checkIdempotencyKey(idempotencyKey);
  const amountMinor = parseAmount(input.amount, input.currency);
  const faucet = identity.role !== 'ADMIN';
  if (faucet) checkFaucetDeposit(deps.faucet, identity, input, amountMinor);
  const dailyTotal = faucet ? faucetDailyTotal(deps.faucet, identity.userId, input.currency) : undefined;
  if (!isUuid(input.userId)) throw badInput('userId is not a user id', { field: 'userId' });
  const recipient = await lookUpUser(deps, { id: input.userId });
  const transaction = {
    initiatorId: identity.userId,
    idempotencyKey,
    toUserId: recipient.id,
    currency: input.currency,
    amount: amountMinor,
    request: { userId: recipient.id, currency: input.currency, amountMinor: String(amountMinor) },
  };
  return resultOf(await runTransaction(deps, depositWorkflow, transaction, dailyTotal));
}

/** A deposit by someone who is not an ADMIN: to themselves, in a faucet currency, within the per-deposit cap. */
function checkFaucetDeposit(faucet: FaucetSettings, identity: Identity, input: { userId: string; currency: Currency }, amountMinor: bigint): void {
  const capMinor = faucet.depositMaxMinor[input.currency];
  if (!faucet.enabled || input.userId !== identity.userId || capMinor === undefined) throw forbidden('Only administrators make deposits');
  if (amountMinor > capMinor) throw badInput(`The development faucet gives at most ${formatAmount(capMinor, input.currency)} ${input.currency} at a time`, { field: 'amount' });
}

/**
 * The faucet's daily total, decided in the database so that concurrent requests cannot pass it together: under a
 * lock per user and currency, today's faucet deposits (this one included) are summed, and one that would pass the
 * total is refused and its row rolled back.
 */
function faucetDailyTotal(faucet: FaucetSettings, userId: string, currency: Currency): Admission {
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
