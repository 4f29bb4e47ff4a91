import { createHash } from 'node:crypto';
import { and, eq, or, type SQL, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { trimDecimal } from '../../../../lib/decimal.js';
import { AppError, badInput, notFound } from '../../../../lib/errors.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import type { AppliedEntry, PostingAccount, PostingRequest, PostingResult } from '../../../../lib/ledger/posting.js';
import { AMOUNT_MINOR_MAX, type Currency, formatAmount } from '../../../../lib/money.js';
import * as schema from '../db/schema.js';
import { postingEntries, postings, wallets, type WalletRow } from '../db/schema.js';

type Db = PostgresJsDatabase<typeof schema>;

interface Entry {
  account: PostingAccount;
  currency: Currency;
  amountMinor: bigint;
}

const accountLabel = (account: PostingAccount) => ('userId' in account ? `user ${account.userId}` : `system account ${account.system}`);
const entryKey = (account: PostingAccount, currency: Currency) => `${'userId' in account ? `u:${account.userId}` : `s:${account.system}`}:${currency}`;
const walletKey = (wallet: WalletRow) => `${wallet.userId ? `u:${wallet.userId}` : `s:${wallet.systemAccount}`}:${wallet.currency}`;

/** Refuses a posting that could not be right whatever the balances: entries that do not sum to zero, a wallet named twice. */
function checkShape(entries: readonly Entry[]): void {
  const sums = new Map<Currency, bigint>();
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = entryKey(entry.account, entry.currency);
    if (seen.has(key)) throw badInput(`posting names ${accountLabel(entry.account)} ${entry.currency} twice`);
    seen.add(key);
    if (entry.amountMinor > AMOUNT_MINOR_MAX || -entry.amountMinor > AMOUNT_MINOR_MAX) throw badInput('posting amount is too large');
    sums.set(entry.currency, (sums.get(entry.currency) ?? 0n) + entry.amountMinor);
  }
  for (const [currency, sum] of sums) if (sum !== 0n) throw badInput(`posting does not balance: ${currency} entries sum to ${sum}, not 0`);
}

/** Same id and same content hash to the same value; entry order does not matter. */
function requestHash(request: PostingRequest): string {
  const entries = request.entries.map((entry) => `${entryKey(entry.account, entry.currency)}=${entry.amountMinor}`).sort();
  return createHash('sha256').update(JSON.stringify({ kind: request.kind, entries })).digest('hex');
}

function walletAccount(wallet: WalletRow): PostingAccount {
  return wallet.userId ? { userId: wallet.userId } : { system: wallet.systemAccount as 'external' | 'market' | 'retired' };
}

/**
 * The refusal of a debit beyond a wallet's balance, as the one who asked for the posting reads it. A user's own
 * wallet is debited only at that user's request, so its balance may be told; the market desk's is not the buyer's
 * balance, and is told as the stock there is to buy.
 */
function insufficientFunds(wallet: WalletRow, currency: Currency): AppError {
  const balance = formatAmount(BigInt(wallet.balance), currency);
  if (wallet.systemAccount === 'market') {
    return new AppError('INSUFFICIENT_FUNDS', `The market has only ${trimDecimal(balance)} ${currency} available`, { currency });
  }
  return new AppError('INSUFFICIENT_FUNDS', `Insufficient ${currency} funds: the balance is ${balance}`, { currency });
}

/** Locks the named wallets in id order (every posting locks in the same order, so two postings never deadlock). */
async function lockWallets(tx: Db, entries: readonly Entry[]): Promise<Map<string, WalletRow>> {
  const conditions: SQL[] = entries.map((entry) =>
    'userId' in entry.account
      ? (and(eq(wallets.userId, entry.account.userId), eq(wallets.currency, entry.currency)) as SQL)
      : (and(eq(wallets.systemAccount, entry.account.system), eq(wallets.currency, entry.currency)) as SQL),
  );
  const rows = await tx.select().from(wallets).where(or(...conditions)).orderBy(wallets.id).for('update');
  return new Map(rows.map((row) => [walletKey(row), row]));
}

async function previousResult(tx: Db, request: PostingRequest, hash: string): Promise<PostingResult> {
  const [existing] = await tx.select({ requestHash: postings.requestHash }).from(postings).where(eq(postings.id, request.id));
  if (existing?.requestHash !== hash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', `posting ${request.id} was already applied with different entries`);
  }
  const rows = await tx
    .select({ entry: postingEntries, wallet: wallets })
    .from(postingEntries)
    .innerJoin(wallets, eq(wallets.id, postingEntries.walletId))
    .where(eq(postingEntries.postingId, request.id));
  return {
    id: request.id,
    status: 'ALREADY_APPLIED',
    entries: rows.map(({ entry, wallet }) => ({
      walletId: wallet.id,
      account: walletAccount(wallet),
      currency: entry.currency,
      amountMinor: entry.amount,
      balanceAfterMinor: entry.balanceAfter,
    })),
  };
}

/**
 * Applies a balanced posting atomically and idempotently: one SQL transaction that records the posting
 * (its id is the primary key), locks the wallets, refuses to take any wallet but `external` below zero,
 * updates balances, stores the entries and writes `wallet.updated` to the outbox. Any refusal rolls back
 * everything, so balances are as they were.
 */
export async function applyPosting(db: Db, request: PostingRequest): Promise<PostingResult> {
  const entries: Entry[] = request.entries.map((entry) => ({ ...entry, amountMinor: BigInt(entry.amountMinor) }));
  checkShape(entries);
  const hash = requestHash(request);

  return db.transaction(
    async (tx) => {
      const inserted = await tx.insert(postings).values({ id: request.id, kind: request.kind, requestHash: hash }).onConflictDoNothing().returning({ id: postings.id });
      if (inserted.length === 0) return previousResult(tx, request, hash);

      const locked = await lockWallets(tx, entries);
      const applied: AppliedEntry[] = [];
      const updatedAt = new Date();
      for (const entry of entries) {
        const wallet = locked.get(entryKey(entry.account, entry.currency));
        if (!wallet) throw notFound(`${accountLabel(entry.account)} has no ${entry.currency} wallet`);
        const balanceAfter = BigInt(wallet.balance) + entry.amountMinor;
        if (balanceAfter < 0n && wallet.systemAccount !== 'external') throw insufficientFunds(wallet, entry.currency);
        applied.push({ walletId: wallet.id, account: walletAccount(wallet), currency: entry.currency, amountMinor: String(entry.amountMinor), balanceAfterMinor: String(balanceAfter) });
      }
      // Every wallet in one statement: they are locked already, so the order of the updates decides nothing.
      const balances = sql.join(
        applied.map((entry) => sql`(${entry.walletId}::uuid, ${entry.balanceAfterMinor}::numeric)`),
        sql`, `,
      );
      await tx.execute(sql`update ${wallets} set balance = changed.balance, updated_at = ${updatedAt.toISOString()}::timestamptz
        from (values ${balances}) as changed (id, balance) where ${wallets.id} = changed.id`);
      await tx.insert(postingEntries).values(
        applied.map((entry) => ({ postingId: request.id, walletId: entry.walletId, currency: entry.currency, amount: entry.amountMinor, balanceAfter: entry.balanceAfterMinor })),
      );
      await enqueueEvents(tx, walletUpdatedEvents(request, applied, updatedAt));
      return { id: request.id, status: 'APPLIED', entries: applied } satisfies PostingResult;
    },
    { isolationLevel: 'read committed' },
  );
}

function walletUpdatedEvents(request: PostingRequest, applied: readonly AppliedEntry[], updatedAt: Date) {
  return applied.flatMap((entry) =>
    'userId' in entry.account
      ? [
          createEnvelope('wallet.updated', entry.account.userId, {
            walletId: entry.walletId,
            userId: entry.account.userId,
            currency: entry.currency,
            balance: formatAmount(BigInt(entry.balanceAfterMinor), entry.currency),
            balanceMinor: entry.balanceAfterMinor,
            changeMinor: entry.amountMinor,
            postingId: request.id,
            postingKind: request.kind,
            updatedAt: updatedAt.toISOString(),
          }),
        ]
      : [],
  );
}
