import type { EventData } from '../../../../lib/events/contracts/index.js';
import { trimDecimal } from '../../../../lib/decimal.js';
import type { Currency } from '../../../../lib/money.js';
import type { Notice } from './store.js';

/**
 * What other services' events mean to a user, as notices. The data comes typed from the event contracts
 * (lib/events/contracts), read by the consumer before it gets here. Events carry ids, not names, so no text
 * names the other party: "from another user".
 */

type TransactionStatus = EventData<'transaction.status'>;
type BlockchainEvent = EventData<'blockchain.event'>;

/** "12.50 USD", "0.5 ETH", "2 CARBON": USD keeps its cents, the others lose trailing zeros. */
export const moneyText = (amount: string, currency: Currency) => `${currency === 'USD' ? amount : trimDecimal(amount)} ${currency}`;
const tonnesText = (amount: string) => {
  const tonnes = trimDecimal(amount);
  return `${tonnes} ${tonnes === '1' ? 'tonne' : 'tonnes'}`;
};
const onChain = (txHash: string | null | undefined) => (txHash ? ` (transaction ${txHash})` : '');

/** Why a transaction failed, for the person who asked for it; the code itself is in `data`. */
const FAILURE_REASONS: Record<string, string> = {
  INSUFFICIENT_FUNDS: 'your wallet did not hold enough',
  QUOTE_EXPIRED: 'the price quote had expired; ask for a new one',
  NOT_FOUND: 'the other account was not found',
  FORBIDDEN: 'you may not make this transaction',
  BAD_USER_INPUT: 'the request was not valid',
  UPSTREAM_UNAVAILABLE: 'a service it needed did not answer',
  CHAIN_TRANSACTION_FAILED: 'the transaction on the Ethereum chain failed',
};

/** A withdrawal that failed after its debit (at the chain step) had its CARBON given back by a reversal posting. */
const WITHDRAWAL_CHAIN_FAILURES = new Set(['CHAIN_TRANSACTION_FAILED', 'UPSTREAM_UNAVAILABLE']);

/** "transfer of 12.50 USD", "purchase of 2.5 tonnes of carbon credits": what the person asked for. */
function whatWasAsked(event: TransactionStatus): string {
  const money = moneyText(event.amount, event.currency);
  const credits = `${tonnesText(event.amount)} of carbon credits`;
  const subjects: Record<TransactionStatus['type'], string> = {
    DEPOSIT: `deposit of ${money}`,
    TRANSFER: `transfer of ${money}`,
    PAYMENT: `payment of ${money}`,
    PURCHASE: `purchase of ${credits}`,
    RETIREMENT: `retirement of ${credits}`,
    MARKET_SUPPLY: `market supply of ${credits}`,
    WITHDRAWAL: `withdrawal of ${tonnesText(event.amount)} of MCO2`,
  };
  return subjects[event.type];
}

/** What a withdrawal's notices carry beside the common fields: where the MCO2 went, and the mint on chain. */
const withdrawalData = (event: TransactionStatus) =>
  event.type === 'WITHDRAWAL' ? { toAddress: event.toAddress, chainTransactionId: event.chainTransactionId, txHash: event.txHash ?? null } : {};

function failureNotice(event: TransactionStatus, notice: NoticeMaker): Notice {
  const reason = FAILURE_REASONS[event.failureCode ?? ''] ?? `of an error (${event.failureCode ?? 'unknown'})`;
  const why = event.failureCode === 'INSUFFICIENT_FUNDS' ? `${reason} ${event.currency}` : reason;
  const givenBack = event.type === 'WITHDRAWAL' && WITHDRAWAL_CHAIN_FAILURES.has(event.failureCode ?? '');
  const after = givenBack ? `Your ${moneyText(event.amount, event.currency)} was given back to your wallet.` : 'Nothing was moved.';
  return notice(event.initiatorId, 'TRANSACTION_FAILED', `Your ${whatWasAsked(event)} failed`, `It failed because ${why}. ${after}`, {
    failureCode: event.failureCode ?? null,
    ...withdrawalData(event),
  });
}

type NoticeMaker = (userId: string, kind: Notice['kind'], title: string, body: string, extra?: Record<string, unknown>) => Notice;

export function noticesForTransaction(event: TransactionStatus): Notice[] {
  const money = moneyText(event.amount, event.currency);
  const data = { transactionId: event.transactionId, transactionType: event.type, status: event.status, currency: event.currency, amount: event.amount };
  const notice: NoticeMaker = (userId, kind, title, body, extra = {}) => ({ userId, kind, title, body, data: { ...data, ...extra }, transactionId: event.transactionId });

  if (event.status === 'FAILED') return [failureNotice(event, notice)];
  if (event.status !== 'COMPLETED') return [];
  switch (event.type) {
    case 'TRANSFER':
      return event.toUserId && event.toUserId !== event.fromUserId
        ? [notice(event.toUserId, 'FUNDS_RECEIVED', `You received ${money}`, `${money} arrived in your ${event.currency} wallet from another user.`)]
        : [];
    case 'PAYMENT':
      return event.toUserId ? [notice(event.toUserId, 'FUNDS_RECEIVED', `You were paid ${money}`, `A buyer paid you ${money}; it is in your ${event.currency} wallet.`)] : [];
    case 'DEPOSIT':
      if (!event.toUserId) return [];
      if (event.chainDeposit) {
        const { depositId, txHash } = event.chainDeposit;
        const body = `${tonnesText(event.amount)} of MCO2 you received on chain${onChain(txHash)} were credited to your CARBON wallet.`;
        return [notice(event.toUserId, 'FUNDS_RECEIVED', 'MCO2 deposit credited', body, { depositId, txHash })];
      }
      return [notice(event.toUserId, 'FUNDS_RECEIVED', `${money} deposited`, `${money} was deposited to your ${event.currency} wallet.`)];
    case 'PURCHASE':
      return [notice(event.initiatorId, 'TRANSACTION_COMPLETED', 'Carbon credits bought', `You bought ${tonnesText(event.amount)} of carbon credits; they are in your CARBON wallet.`)];
    case 'RETIREMENT':
      return [notice(event.initiatorId, 'TRANSACTION_COMPLETED', 'Carbon credits retired', `You retired ${tonnesText(event.amount)} of CO2e for good; the certificate is in your retirements.`)];
    case 'WITHDRAWAL': {
      const body = `${tonnesText(event.amount)} of MCO2 were minted to ${event.toAddress} on chain${onChain(event.txHash)}.`;
      return [notice(event.initiatorId, 'TRANSACTION_COMPLETED', 'Withdrawal completed', body, withdrawalData(event))];
    }
    case 'MARKET_SUPPLY':
      return [];
  }
}

/**
 * A wallet emptied by a debit. Every other balance change already comes with its transaction's notice, so
 * telling each one again would only double the noise.
 */
export function noticesForWallet(wallet: EventData<'wallet.updated'>): Notice[] {
  if (wallet.balanceMinor !== '0' || !wallet.changeMinor.startsWith('-')) return [];
  return [
    {
      userId: wallet.userId,
      kind: 'WALLET_EMPTY',
      title: `Your ${wallet.currency} wallet is empty`,
      body: `Your ${wallet.currency} balance is now ${moneyText(wallet.balance, wallet.currency)}.`,
      data: { currency: wallet.currency, balance: wallet.balance, postingId: wallet.postingId },
      transactionId: wallet.postingId,
    },
  ];
}

/** Staking logs a user is told about, by kind: the title, and what happened to the amount. */
const STAKING_NOTICES = {
  STAKED: { title: 'Stake confirmed', done: 'staked from your chain account' },
  UNSTAKED: { title: 'Unstaked', done: 'taken back from staking to your chain account' },
  REWARD_PAID: { title: 'Staking rewards paid', done: 'paid to your chain account as staking rewards' },
} as const;

function retirementNotice(event: Extract<BlockchainEvent, { kind: 'RETIREMENT_CHAIN_STATUS' }>): Notice[] {
  const data = { chainStatus: event.chainStatus, retirementId: event.retirementId, certificateId: event.certificateId, txHash: event.txHash, amount: event.amount };
  const what = `${tonnesText(event.amount)} retired for ${event.beneficiary}`;
  if (event.chainStatus === 'CONFIRMED') {
    const body = `Certificate ${event.certificateId ?? ''} for ${what} is recorded on the Ethereum chain${onChain(event.txHash)}.`;
    return [{ userId: event.userId, kind: 'BLOCKCHAIN', title: 'Retirement certificate issued', body, data, transactionId: event.retirementId }];
  }
  if (event.chainStatus === 'FAILED') {
    const body = `The certificate for ${what} could not be recorded on the Ethereum chain. The retirement on the ledger stands.`;
    return [{ userId: event.userId, kind: 'BLOCKCHAIN', title: 'Retirement certificate not issued', body, data, transactionId: event.retirementId }];
  }
  return [];
}

/**
 * What chain events a user is told about: their retirement's certificate, and their staking. Transfers,
 * mints, burns and deposits on chain reach the user as the ledger's notices (deposit credited, withdrawal
 * completed) instead, so telling them again would only double the noise.
 */
export function noticesForBlockchainEvent(event: BlockchainEvent): Notice[] {
  if (event.kind === 'RETIREMENT_CHAIN_STATUS') return retirementNotice(event);
  if (event.kind !== 'STAKED' && event.kind !== 'UNSTAKED' && event.kind !== 'REWARD_PAID') return [];
  if (!event.userId) return [];
  const { title, done } = STAKING_NOTICES[event.kind];
  const data = { chainEvent: event.kind, amount: event.amount, txHash: event.txHash, blockNumber: event.blockNumber, removed: event.removed ?? false };
  const what = `${trimDecimal(event.amount)} MCO2 ${done}`;
  if (event.removed) {
    const body = `A reorganisation of the Ethereum chain undid this: ${what}${onChain(event.txHash)}. It may be included again.`;
    return [{ userId: event.userId, kind: 'BLOCKCHAIN', title: `Undone on chain: ${title.toLowerCase()}`, body, data }];
  }
  return [{ userId: event.userId, kind: 'BLOCKCHAIN', title, body: `${what}${onChain(event.txHash)}.`, data }];
}
