import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { noticesForBlockchainEvent, noticesForTransaction, noticesForWallet } from '../src/notifications/from-events.js';

const [ana, ben] = [randomUUID(), randomUUID()];
const statusEvent = (fields: Record<string, unknown>) => ({
  transactionId: randomUUID(),
  type: 'TRANSFER',
  status: 'COMPLETED',
  failureCode: null,
  initiatorId: ana,
  fromUserId: ana,
  toUserId: ben,
  currency: 'USD',
  amount: '12.50',
  ...fields,
});

describe('what events tell users', () => {
  it('tells the receiver of money, not the sender, and never names the other party', () => {
    expect(noticesForTransaction(statusEvent({})).map(({ userId, title, body }) => ({ userId, title, body }))).toEqual([
      { userId: ben, title: 'You received 12.50 USD', body: '12.50 USD arrived in your USD wallet from another user.' },
    ]);
    expect(noticesForTransaction(statusEvent({ type: 'PAYMENT' }))[0]?.title).toBe('You were paid 12.50 USD');
    expect(noticesForTransaction(statusEvent({ type: 'DEPOSIT', fromUserId: null, toUserId: ana }))[0]).toMatchObject({ userId: ana, title: '12.50 USD deposited' });
  });

  it('tells the initiator why a transaction failed', () => {
    const [expired] = noticesForTransaction(statusEvent({ type: 'PURCHASE', status: 'FAILED', failureCode: 'QUOTE_EXPIRED', currency: 'CARBON', amount: '2.500000000000000000' }));
    expect(expired).toMatchObject({ userId: ana, kind: 'TRANSACTION_FAILED', title: 'Your purchase of 2.5 tonnes of carbon credits failed' });
    expect(expired?.body).toBe('It failed because the price quote had expired; ask for a new one. Nothing was moved.');
    expect(noticesForTransaction(statusEvent({ status: 'FAILED', failureCode: 'SOMETHING_NEW' }))[0]?.body).toBe('It failed because of an error (SOMETHING_NEW). Nothing was moved.');
  });

  it('confirms purchases and retirements in tonnes', () => {
    expect(noticesForTransaction(statusEvent({ type: 'RETIREMENT', toUserId: null, currency: 'CARBON', amount: '1.000000000000000000' }))[0]?.body).toBe(
      'You retired 1 tonne of CO2e for good; the certificate is in your retirements.',
    );
  });

  it('says nothing for events it cannot read, or that concern nobody', () => {
    expect(noticesForTransaction({ transactionId: 'x' })).toEqual([]);
    expect(noticesForTransaction(statusEvent({ type: 'MARKET_SUPPLY', fromUserId: null, toUserId: null }))).toEqual([]);
    expect(noticesForBlockchainEvent({ event: 'Transfer', transactionHash: `0x${'a'.repeat(64)}` })).toEqual([]);
    expect(noticesForBlockchainEvent({ userId: 'not-a-uuid' })).toEqual([]);
  });

  it('tells a user about a chain event that names them', () => {
    const hash = `0x${'b'.repeat(64)}`;
    expect(noticesForBlockchainEvent({ userId: ana, event: 'Retired', transactionHash: hash, blockNumber: 12 })).toEqual([
      { userId: ana, kind: 'BLOCKCHAIN', title: 'On-chain activity', body: `A Retired event on the Ethereum chain concerns your account (transaction ${hash}).`, data: { event: 'Retired', transactionHash: hash, blockNumber: '12' } },
    ]);
  });

  it('tells a user when a debit empties a wallet, and only then', () => {
    const wallet = { userId: ana, currency: 'ETH', balance: '0.000000000000000000', balanceMinor: '0', changeMinor: '-5', postingId: randomUUID() };
    expect(noticesForWallet(wallet)[0]).toMatchObject({ title: 'Your ETH wallet is empty', body: 'Your ETH balance is now 0 ETH.' });
    expect(noticesForWallet({ ...wallet, balanceMinor: '1', balance: '0.000000000000000001' })).toEqual([]);
  });
});
