import { z } from 'zod';
import { address, blockNumber, decimalText, hash, minorUnits } from './fields.js';

/**
 * `blockchain.event`, keyed by the user id the event concerns (or the address, when no user holds it). Two
 * families, told apart by `kind`:
 * - contract logs the indexer read (MINT … REWARDS_FUNDED), where they are on chain and whose users they
 *   concern; published again with `removed: true` when a reorg took them off the chain;
 * - the blockchain subgraph's own steps: a deposit burned and ready to credit (CARBON_DEPOSIT), and how far a
 *   retirement's certificate has got on chain (RETIREMENT_CHAIN_STATUS).
 */
const logged = {
  contract: z.enum(['token', 'staking']),
  /** The address the log is about; `userId` is its user when the platform holds its key. */
  account: address,
  userId: z.uuid().optional(),
  /** In CARBON (tonnes), with all 18 decimals. */
  amount: decimalText,
  txHash: hash,
  logIndex: z.number().int().nonnegative(),
  blockNumber,
  blockHash: hash,
  /** Set when a reorg took the log off the chain: whatever it caused is to be undone. */
  removed: z.literal(true).optional(),
};

const transferLike = (kind: 'MINT' | 'BURN' | 'TRANSFER') =>
  z.object({
    ...logged,
    kind: z.literal(kind),
    from: address,
    to: address,
    fromUserId: z.uuid().optional(),
    toUserId: z.uuid().optional(),
  });

const accountLog = (kind: 'STAKED' | 'UNSTAKED' | 'REWARD_PAID' | 'REWARDS_FUNDED') => z.object({ ...logged, kind: z.literal(kind) });

export const RETIREMENT_CHAIN_STATUSES = ['QUEUED', 'SUBMITTED', 'CONFIRMED', 'FAILED'] as const;

export const blockchainEventV1 = z.discriminatedUnion('kind', [
  transferLike('MINT'),
  transferLike('BURN'),
  transferLike('TRANSFER'),
  z.object({
    ...logged,
    kind: z.literal('RETIRED'),
    /** The certificate number CarbonToken issued. */
    retirementId: z.string().regex(/^\d{1,78}$/),
    beneficiary: z.string(),
    message: z.string(),
  }),
  accountLog('STAKED'),
  accountLog('UNSTAKED'),
  accountLog('REWARD_PAID'),
  accountLog('REWARDS_FUNDED'),
  z.object({
    kind: z.literal('CARBON_DEPOSIT'),
    depositId: z.uuid(),
    userId: z.uuid(),
    amount: decimalText,
    amountMinor: minorUnits,
    /** The transfer that brought the MCO2 to the custodial address. */
    txHash: hash,
    /** The burn that took it off the chain as it enters the ledger. */
    burnTxHash: hash,
  }),
  z.object({
    kind: z.literal('RETIREMENT_CHAIN_STATUS'),
    /** The RETIREMENT transaction's id (the transaction subgraph's). */
    retirementId: z.uuid(),
    userId: z.uuid(),
    chainStatus: z.enum(RETIREMENT_CHAIN_STATUSES),
    /** What the certificate says: tonnes retired (CARBON, 18 decimals) and for whom. */
    amount: decimalText,
    beneficiary: z.string(),
    /** The CarbonToken.retire transaction; null until it is sent. */
    txHash: hash.nullable(),
    /** The certificate number; null until the retire transaction is mined. */
    certificateId: z.string().regex(/^\d{1,78}$/).nullable(),
  }),
]);
export type BlockchainEventV1 = z.infer<typeof blockchainEventV1>;
/** The contract logs the indexer publishes (and stores, to publish again as removed after a reorg). */
export type IndexedLogData = Exclude<BlockchainEventV1, { kind: 'CARBON_DEPOSIT' | 'RETIREMENT_CHAIN_STATUS' }>;
