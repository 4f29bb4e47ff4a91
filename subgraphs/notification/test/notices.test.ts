import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEnvelope, type EventData } from '../../../lib/events/contracts/index.js';
import { noticesForBlockchainEvent, noticesForTransaction, noticesForWallet } from '../src/notifications/from-events.js';

/**
 * The text of notices, one event at a time. The data goes through `createEnvelope`, so it is what the event
 * contracts let producers write (the contract test in test/operations runs the real producers).
 */
const [ana, ben] = [randomUUID(), randomUUID()];
const hash = (digit: string) => `0x${digit.repeat(64)}`;
const common: {
  transactionId: string;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  failureCode: string | null;
  initiatorId: string;
  fromUserId: string | null;
  toUserId: string | null;
  currency: 'USD' | 'ETH' | 'CARBON';
  amount: string;
  amountMinor: string;
  createdAt: string;
  completedAt: string | null;
} = {
  transactionId: randomUUID(),
  status: 'COMPLETED',
  failureCode: null,
  initiatorId: ana,
  fromUserId: ana,
  toUserId: ben,
  currency: 'USD',
  amount: '12.50',
  amountMinor: '1250',
  createdAt: new Date().toISOString(),
  completedAt: new Date().toISOString(),
};
function checked<T extends 'transaction.status' | 'blockchain.event' | 'wallet.updated'>(type: T, data: EventData<T>): EventData<T> {
  return createEnvelope<T>(type, 'key', data).data as EventData<T>;
}
const transfer = (fields: Partial<typeof common> & { type?: 'TRANSFER' | 'PAYMENT' | 'PURCHASE' | 'MARKET_SUPPLY' } = {}) =>
  checked('transaction.status', { ...common, type: 'TRANSFER', ...fields });
const carbon = { currency: 'CARBON' as const, amount: '2.500000000000000000', amountMinor: '2500000000000000000' };
const withdrawal = (fields: Partial<typeof common>) =>
  checked('transaction.status', { ...common, ...carbon, toUserId: null, type: 'WITHDRAWAL', toAddress: `0x${'Ab'.repeat(20)}`, chainTransactionId: randomUUID(), txHash: hash('c'), ...fields });
const logged = { contract: 'staking' as const, account: `0x${'1'.repeat(40)}`, userId: ana, amount: '3.000000000000000000', txHash: hash('d'), logIndex: 0, blockNumber: '12', blockHash: hash('e') };

describe('what events tell users', () => {
  it('tells the receiver of money, not the sender, and never names the other party', () => {
    expect(noticesForTransaction(transfer()).map(({ userId, title, body }) => ({ userId, title, body }))).toEqual([
      { userId: ben, title: 'You received 12.50 USD', body: '12.50 USD arrived in your USD wallet from another user.' },
    ]);
    expect(noticesForTransaction(transfer({ type: 'PAYMENT' }))[0]?.title).toBe('You were paid 12.50 USD');
    expect(noticesForTransaction(checked('transaction.status', { ...common, type: 'DEPOSIT', fromUserId: null, toUserId: ana }))[0]).toMatchObject({
      userId: ana,
      title: '12.50 USD deposited',
    });
  });

  it('tells the initiator why a transaction failed', () => {
    const [expired] = noticesForTransaction(transfer({ type: 'PURCHASE', status: 'FAILED', failureCode: 'QUOTE_EXPIRED', ...carbon }));
    expect(expired).toMatchObject({ userId: ana, kind: 'TRANSACTION_FAILED', title: 'Your purchase of 2.5 tonnes of carbon credits failed' });
    expect(expired?.body).toBe('It failed because the price quote had expired; ask for a new one. Nothing was moved.');
    expect(noticesForTransaction(transfer({ status: 'FAILED', failureCode: 'SOMETHING_NEW' }))[0]?.body).toBe('It failed because of an error (SOMETHING_NEW). Nothing was moved.');
  });

  it('confirms purchases and retirements in tonnes', () => {
    const retirement = checked('transaction.status', { ...common, ...carbon, amount: '1.000000000000000000', amountMinor: '1000000000000000000', type: 'RETIREMENT', toUserId: null, retirement: { beneficiary: 'Acme', message: null } });
    expect(noticesForTransaction(retirement)[0]?.body).toBe('You retired 1 tonne of CO2e for good; the certificate is in your retirements.');
  });

  it('tells a withdrawal completed or failed, with its amount, address and transaction hash', () => {
    const [completed] = noticesForTransaction(withdrawal({}));
    expect(completed).toMatchObject({ userId: ana, kind: 'TRANSACTION_COMPLETED', title: 'Withdrawal completed' });
    expect(completed?.body).toBe(`2.5 tonnes of MCO2 were minted to 0x${'Ab'.repeat(20)} on chain (transaction ${hash('c')}).`);
    expect(completed?.data).toMatchObject({ amount: '2.500000000000000000', toAddress: `0x${'Ab'.repeat(20)}`, txHash: hash('c') });
    const [reverted] = noticesForTransaction(withdrawal({ status: 'FAILED', failureCode: 'CHAIN_TRANSACTION_FAILED' }));
    expect(reverted).toMatchObject({ kind: 'TRANSACTION_FAILED', title: 'Your withdrawal of 2.5 tonnes of MCO2 failed' });
    expect(reverted?.body).toBe('It failed because the transaction on the Ethereum chain failed. Your 2.5 CARBON was given back to your wallet.');
    const [refused] = noticesForTransaction(withdrawal({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' }));
    expect(refused?.body).toBe('It failed because your wallet did not hold enough CARBON. Nothing was moved.');
  });

  it('says nothing for events that concern nobody', () => {
    expect(noticesForTransaction(transfer({ type: 'MARKET_SUPPLY', fromUserId: null, toUserId: null }))).toEqual([]);
    expect(noticesForTransaction(withdrawal({ status: 'PENDING' }))).toEqual([]);
    const transferOnChain = checked('blockchain.event', { ...logged, contract: 'token', kind: 'TRANSFER', from: logged.account, to: logged.account });
    expect(noticesForBlockchainEvent(transferOnChain)).toEqual([]);
    expect(noticesForBlockchainEvent(checked('blockchain.event', { ...logged, userId: undefined, kind: 'STAKED' }))).toEqual([]);
  });

  it('tells a stake confirmed on chain, and undone by a reorganisation', () => {
    expect(noticesForBlockchainEvent(checked('blockchain.event', { ...logged, kind: 'STAKED' }))).toEqual([
      {
        userId: ana,
        kind: 'BLOCKCHAIN',
        title: 'Stake confirmed',
        body: `3 MCO2 staked from your chain account (transaction ${hash('d')}).`,
        data: { chainEvent: 'STAKED', amount: '3.000000000000000000', txHash: hash('d'), blockNumber: '12', removed: false },
      },
    ]);
    expect(noticesForBlockchainEvent(checked('blockchain.event', { ...logged, kind: 'STAKED', removed: true }))[0]?.title).toBe('Undone on chain: stake confirmed');
  });

  it('tells a retirement certificate issued on chain, with its number and transaction', () => {
    const certificate = (chainStatus: 'SUBMITTED' | 'CONFIRMED' | 'FAILED') =>
      checked('blockchain.event', { kind: 'RETIREMENT_CHAIN_STATUS', retirementId: common.transactionId, userId: ana, chainStatus, amount: carbon.amount, beneficiary: 'Acme', txHash: hash('f'), certificateId: '7' });
    expect(noticesForBlockchainEvent(certificate('CONFIRMED'))).toEqual([
      {
        userId: ana,
        kind: 'BLOCKCHAIN',
        title: 'Retirement certificate issued',
        body: `Certificate 7 for 2.5 tonnes retired for Acme is recorded on the Ethereum chain (transaction ${hash('f')}).`,
        data: { chainStatus: 'CONFIRMED', retirementId: common.transactionId, certificateId: '7', txHash: hash('f'), amount: carbon.amount },
        transactionId: common.transactionId,
      },
    ]);
    expect(noticesForBlockchainEvent(certificate('SUBMITTED'))).toEqual([]);
    expect(noticesForBlockchainEvent(certificate('FAILED'))[0]?.title).toBe('Retirement certificate not issued');
  });

  it('tells a user when a debit empties a wallet, and only then', () => {
    const wallet = { walletId: randomUUID(), userId: ana, currency: 'ETH' as const, balance: '0.000000000000000000', balanceMinor: '0', changeMinor: '-5', postingId: randomUUID(), postingKind: 'transfer', updatedAt: new Date().toISOString() };
    expect(noticesForWallet(checked('wallet.updated', wallet))[0]).toMatchObject({ title: 'Your ETH wallet is empty', body: 'Your ETH balance is now 0 ETH.' });
    expect(noticesForWallet(checked('wallet.updated', { ...wallet, balanceMinor: '1', balance: '0.000000000000000001' }))).toEqual([]);
  });
});
