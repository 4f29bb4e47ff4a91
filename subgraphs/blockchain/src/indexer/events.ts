import { type Address, getAddress, zeroAddress } from 'viem';
import { formatAmount } from '../../../../lib/money.js';

/** One decoded contract log, as the indexer stores and publishes it. */
export interface IndexedEvent {
  kind: string;
  /** The address the event is about; its user (when custodial) keys the envelope. */
  account: Address;
  amountMinor: bigint | null;
  /** Addresses beside `account` whose users the data names (a transfer's sender). */
  related: Record<string, Address>;
  extra: Record<string, string>;
}

/** The events the indexer reads; anything else from the contracts (roles, approvals, rate changes) is not published. */
export const TOKEN_EVENTS = ['Transfer', 'Retired'] as const;
export const STAKING_EVENTS = ['Staked', 'Unstaked', 'RewardPaid', 'RewardsFunded'] as const;

export function describeEvent(eventName: string, args: Record<string, unknown>): IndexedEvent | null {
  const address = (name: string) => getAddress(args[name] as string);
  const amount = (name: string) => args[name] as bigint;
  switch (eventName) {
    case 'Transfer': {
      const from = address('from');
      const to = address('to');
      const kind = from === zeroAddress ? 'MINT' : to === zeroAddress ? 'BURN' : 'TRANSFER';
      return { kind, account: kind === 'BURN' ? from : to, amountMinor: amount('value'), related: { from, to }, extra: {} };
    }
    case 'Retired':
      return {
        kind: 'RETIRED',
        account: address('account'),
        amountMinor: amount('amount'),
        related: {},
        extra: { retirementId: String(args.id), beneficiary: String(args.beneficiary), message: String(args.message) },
      };
    case 'Staked':
    case 'Unstaked':
      return { kind: eventName.toUpperCase(), account: address('account'), amountMinor: amount('amount'), related: {}, extra: {} };
    case 'RewardPaid':
      return { kind: 'REWARD_PAID', account: address('account'), amountMinor: amount('amount'), related: {}, extra: {} };
    case 'RewardsFunded':
      return { kind: 'REWARDS_FUNDED', account: address('funder'), amountMinor: amount('amount'), related: {}, extra: {} };
    default:
      return null;
  }
}

/** The envelope data: amounts as decimal CARBON strings, block numbers as strings, user ids where known. */
export function eventData(event: IndexedEvent, users: Map<Address, string>, where: { contract: string; txHash: string; logIndex: number; blockNumber: bigint; blockHash: string }) {
  const data: Record<string, unknown> = {
    kind: event.kind,
    contract: where.contract,
    account: event.account,
    txHash: where.txHash,
    logIndex: where.logIndex,
    blockNumber: where.blockNumber.toString(),
    blockHash: where.blockHash,
    ...event.extra,
  };
  const userId = users.get(event.account);
  if (userId) data.userId = userId;
  if (event.amountMinor !== null) data.amount = formatAmount(event.amountMinor, 'CARBON');
  for (const [name, related] of Object.entries(event.related)) {
    data[name] = related;
    const relatedUser = users.get(related);
    if (relatedUser) data[`${name}UserId`] = relatedUser;
  }
  return { data, key: userId ?? event.account };
}
