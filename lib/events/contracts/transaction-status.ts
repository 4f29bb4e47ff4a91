import { z } from 'zod';
import { address, currency, decimalText, errorCode, hash, minorUnits, timestamp } from './fields.js';

/**
 * `transaction.status`, keyed by the transaction id: a transaction of the transaction subgraph reached a
 * status (COMPLETED or FAILED; a withdrawal also when its mint is sent and it waits PENDING for the chain).
 * Each type carries what its readers need beside the common fields.
 */
const common = {
  transactionId: z.uuid(),
  status: z.enum(['PENDING', 'COMPLETED', 'FAILED']),
  /** An error code; null unless FAILED. */
  failureCode: errorCode.nullable(),
  initiatorId: z.uuid(),
  fromUserId: z.uuid().nullable(),
  toUserId: z.uuid().nullable(),
  currency,
  /** In the currency's units, with all its decimals: "12.50", "2.500000000000000000". */
  amount: decimalText,
  amountMinor: minorUnits,
  createdAt: timestamp,
  completedAt: timestamp.nullable(),
};

const plain = (type: 'TRANSFER' | 'PAYMENT' | 'PURCHASE' | 'MARKET_SUPPLY') => z.object({ ...common, type: z.literal(type) });

export const transactionStatusV1 = z.discriminatedUnion('type', [
  z.object({
    ...common,
    type: z.literal('DEPOSIT'),
    /** Present when the deposit credits MCO2 received on chain (the blockchain subgraph's CARBON_DEPOSIT). */
    chainDeposit: z.object({ depositId: z.uuid(), txHash: hash }).optional(),
  }),
  plain('TRANSFER'),
  plain('PAYMENT'),
  plain('PURCHASE'),
  plain('MARKET_SUPPLY'),
  z.object({
    ...common,
    type: z.literal('RETIREMENT'),
    /** What the blockchain subgraph writes on the certificate on chain. */
    retirement: z.object({ beneficiary: z.string().min(1), message: z.string().nullable() }),
  }),
  z.object({
    ...common,
    type: z.literal('WITHDRAWAL'),
    toAddress: address,
    /** The blockchain subgraph's mint, once it was sent; null before, or when nothing could be sent. */
    chainTransactionId: z.uuid().nullable(),
    /** The mint's hash on chain, once it is known. */
    txHash: hash.nullable().optional(),
  }),
]);
export type TransactionStatusV1 = z.infer<typeof transactionStatusV1>;
