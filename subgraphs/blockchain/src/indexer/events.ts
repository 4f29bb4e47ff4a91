import { type Address, getAddress, zeroAddress } from 'viem';
import type { IndexedLogData } from '../../../../lib/events/contracts/blockchain-event.js';
import { formatAmount } from '../../../../lib/money.js';

/** One decoded contract log, as the indexer stores and publishes it. */
export type IndexedEvent = { account: Address; amountMinor: bigint } & (
  | { kind: 'MINT' | 'BURN' | 'TRANSFER'; from: Address; to: Address }
  | { kind: 'RETIRED'; retirementId: string; beneficiary: string; message: string }
  | { kind: 'STAKED' | 'UNSTAKED' | 'REWARD_PAID' | 'REWARDS_FUNDED' }
);

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
      return { kind, account: kind === 'BURN' ? from : to, amountMinor: amount('value'), from, to };
    }
    case 'Retired':
      return {
        kind: 'RETIRED',
        account: address('account'),
        amountMinor: amount('amount'),
        retirementId: String(args.id),
        beneficiary: String(args.beneficiary),
        message: String(args.message),
      };
    case 'Staked':
      return { kind: 'STAKED', account: address('account'), amountMinor: amount('amount') };
    case 'Unstaked':
      return { kind: 'UNSTAKED', account: address('account'), amountMinor: amount('amount') };
    case 'RewardPaid':
      return { kind: 'REWARD_PAID', account: address('account'), amountMinor: amount('amount') };
    case 'RewardsFunded':
      return { kind: 'REWARDS_FUNDED', account: address('funder'), amountMinor: amount('amount') };
    default:
      return null;
  }
}

/** Every address an event names, whose users the data names too. */
export const addressesOf = (event: IndexedEvent): Address[] => ('from' in event ? [event.account, event.from, event.to] : [event.account]);

/** The envelope data (lib/events/contracts/blockchain-event.ts): amounts as decimal CARBON strings, user ids where known. */
export function eventData(
  event: IndexedEvent,
  users: Map<Address, string>,
  where: { contract: 'token' | 'staking'; txHash: string; logIndex: number; blockNumber: bigint; blockHash: string },
): { data: IndexedLogData; key: string } {
  const userId = users.get(event.account);
  const userOf = (name: string, address: Address) => {
    const user = users.get(address);
    return user ? { [name]: user } : {};
  };
  const common = {
    contract: where.contract,
    account: event.account,
    ...(userId ? { userId } : {}),
    amount: formatAmount(event.amountMinor, 'CARBON'),
    txHash: where.txHash,
    logIndex: where.logIndex,
    blockNumber: where.blockNumber.toString(),
    blockHash: where.blockHash,
  };
  const key = userId ?? event.account;
  switch (event.kind) {
    case 'MINT':
    case 'BURN':
    case 'TRANSFER':
      return { key, data: { ...common, kind: event.kind, from: event.from, to: event.to, ...userOf('fromUserId', event.from), ...userOf('toUserId', event.to) } };
    case 'RETIRED':
      return { key, data: { ...common, kind: event.kind, retirementId: event.retirementId, beneficiary: event.beneficiary, message: event.message } };
    default:
      return { key, data: { ...common, kind: event.kind } };
  }
}
