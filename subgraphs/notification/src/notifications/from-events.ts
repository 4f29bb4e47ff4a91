import { z } from 'zod';
import { trimDecimal } from '../../../../lib/decimal.js';
import { CURRENCIES, type Currency } from '../../../../lib/money.js';
import type { Notice } from './store.js';

/**
 * What other services' events mean to a user, as notices. Events carry ids, not names, so no text names the
 * other party: "from another user". Data that does not have the expected shape (a newer version of an
 * event, a producer's bug) gives no notice rather than a wrong one.
 */

const transactionStatusData = z.object({
  transactionId: z.uuid(),
  type: z.enum(['DEPOSIT', 'TRANSFER', 'PAYMENT', 'PURCHASE', 'RETIREMENT', 'MARKET_SUPPLY']),
  status: z.enum(['PENDING', 'COMPLETED', 'FAILED']),
  failureCode: z.string().max(100).nullish(),
  initiatorId: z.uuid(),
  fromUserId: z.uuid().nullable(),
  toUserId: z.uuid().nullable(),
  currency: z.enum(CURRENCIES),
  amount: z.string().regex(/^\d+(\.\d+)?$/),
});
type TransactionStatusData = z.infer<typeof transactionStatusData>;

const walletUpdatedData = z.object({
  userId: z.uuid(),
  currency: z.enum(CURRENCIES),
  balance: z.string(),
  balanceMinor: z.string(),
  changeMinor: z.string(),
  postingId: z.string().optional(),
});

const blockchainEventData = z.object({
  userId: z.uuid(),
  event: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/).optional(),
  transactionHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/).optional(),
  blockNumber: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).optional(),
});

/** "12.50 USD", "0.5 ETH", "2 CARBON": USD keeps its cents, the others lose trailing zeros. */
export const moneyText = (amount: string, currency: Currency) => `${currency === 'USD' ? amount : trimDecimal(amount)} ${currency}`;
const tonnesText = (amount: string) => {
  const tonnes = trimDecimal(amount);
  return `${tonnes} ${tonnes === '1' ? 'tonne' : 'tonnes'}`;
};

/** Why a transaction failed, for the person who asked for it; the code itself is in `data`. */
const FAILURE_REASONS: Record<string, string> = {
  INSUFFICIENT_FUNDS: 'your wallet did not hold enough',
  QUOTE_EXPIRED: 'the price quote had expired; ask for a new one',
  NOT_FOUND: 'the other account was not found',
  FORBIDDEN: 'you may not make this transaction',
  BAD_USER_INPUT: 'the request was not valid',
  UPSTREAM_UNAVAILABLE: 'a service it needed did not answer',
};

/** "transfer of 12.50 USD", "purchase of 2.5 tonnes of carbon credits": what the person asked for. */
function whatWasAsked(event: TransactionStatusData): string {
  const money = moneyText(event.amount, event.currency);
  const credits = `${tonnesText(event.amount)} of carbon credits`;
  const subjects: Record<TransactionStatusData['type'], string> = {
    DEPOSIT: `deposit of ${money}`,
    TRANSFER: `transfer of ${money}`,
    PAYMENT: `payment of ${money}`,
    PURCHASE: `purchase of ${credits}`,
    RETIREMENT: `retirement of ${credits}`,
    MARKET_SUPPLY: `market supply of ${credits}`,
  };
  return subjects[event.type];
}

export function noticesForTransaction(raw: Record<string, unknown>): Notice[] {
  const parsed = transactionStatusData.safeParse(raw);
  if (!parsed.success) return [];
  const event = parsed.data;
  const money = moneyText(event.amount, event.currency);
  const data = { transactionId: event.transactionId, transactionType: event.type, status: event.status, currency: event.currency, amount: event.amount };
  const notice = (userId: string, kind: Notice['kind'], title: string, body: string, extra: Record<string, unknown> = {}): Notice => ({
    userId,
    kind,
    title,
    body,
    data: { ...data, ...extra },
    transactionId: event.transactionId,
  });

  if (event.status === 'FAILED') {
    const reason = FAILURE_REASONS[event.failureCode ?? ''] ?? `of an error (${event.failureCode ?? 'unknown'})`;
    const why = event.failureCode === 'INSUFFICIENT_FUNDS' ? `${reason} ${event.currency}` : reason;
    return [notice(event.initiatorId, 'TRANSACTION_FAILED', `Your ${whatWasAsked(event)} failed`, `It failed because ${why}. Nothing was moved.`, { failureCode: event.failureCode ?? null })];
  }
  if (event.status !== 'COMPLETED') return [];
  switch (event.type) {
    case 'TRANSFER':
      return event.toUserId && event.toUserId !== event.fromUserId
        ? [notice(event.toUserId, 'FUNDS_RECEIVED', `You received ${money}`, `${money} arrived in your ${event.currency} wallet from another user.`)]
        : [];
    case 'PAYMENT':
      return event.toUserId ? [notice(event.toUserId, 'FUNDS_RECEIVED', `You were paid ${money}`, `A buyer paid you ${money}; it is in your ${event.currency} wallet.`)] : [];
    case 'DEPOSIT':
      return event.toUserId ? [notice(event.toUserId, 'FUNDS_RECEIVED', `${money} deposited`, `${money} was deposited to your ${event.currency} wallet.`)] : [];
    case 'PURCHASE':
      return [notice(event.initiatorId, 'TRANSACTION_COMPLETED', 'Carbon credits bought', `You bought ${tonnesText(event.amount)} of carbon credits; they are in your CARBON wallet.`)];
    case 'RETIREMENT':
      return [notice(event.initiatorId, 'TRANSACTION_COMPLETED', 'Carbon credits retired', `You retired ${tonnesText(event.amount)} of CO2e for good; the certificate is in your retirements.`)];
    case 'MARKET_SUPPLY':
      return [];
  }
}

/**
 * A wallet emptied by a debit. Every other balance change already comes with its transaction's notice, so
 * telling each one again would only double the noise.
 */
export function noticesForWallet(raw: Record<string, unknown>): Notice[] {
  const parsed = walletUpdatedData.safeParse(raw);
  if (!parsed.success) return [];
  const wallet = parsed.data;
  if (wallet.balanceMinor !== '0' || !wallet.changeMinor.startsWith('-')) return [];
  return [
    {
      userId: wallet.userId,
      kind: 'WALLET_EMPTY',
      title: `Your ${wallet.currency} wallet is empty`,
      body: `Your ${wallet.currency} balance is now ${moneyText(wallet.balance, wallet.currency)}.`,
      data: { currency: wallet.currency, balance: wallet.balance, postingId: wallet.postingId ?? null },
      transactionId: wallet.postingId && z.uuid().safeParse(wallet.postingId).success ? wallet.postingId : null,
    },
  ];
}

/** Chain events have no producer yet: one that names a user becomes that user's notice; any other is not for anyone. */
export function noticesForBlockchainEvent(raw: Record<string, unknown>): Notice[] {
  const parsed = blockchainEventData.safeParse(raw);
  if (!parsed.success) return [];
  const { userId, event, transactionHash, blockNumber } = parsed.data;
  const what = event ? `A ${event} event` : 'An event';
  const where = transactionHash ? ` (transaction ${transactionHash})` : '';
  return [
    {
      userId,
      kind: 'BLOCKCHAIN',
      title: 'On-chain activity',
      body: `${what} on the Ethereum chain concerns your account${where}.`,
      data: { event: event ?? null, transactionHash: transactionHash ?? null, blockNumber: blockNumber === undefined ? null : String(blockNumber) },
    },
  ];
}
