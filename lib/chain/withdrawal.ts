import { z } from 'zod';
import { internalCall } from '../internal-contract.js';

/**
 * `POST /internal/withdrawals` on the blockchain subgraph: mint a withdrawal's MCO2 to its address. The id is
 * the transaction subgraph's WITHDRAWAL transaction id; asking again with the same id never mints twice and
 * answers where the withdrawal stands.
 */
export const WITHDRAWAL_PATH = '/internal/withdrawals';

export const withdrawalRequestSchema = z.strictObject({
  id: z.uuid(),
  userId: z.uuid(),
  toAddress: z.string(),
  amountMinor: z.string().regex(/^[1-9]\d{0,77}$/, 'must be a positive whole number of minor units'),
});
export type WithdrawalRequest = z.infer<typeof withdrawalRequestSchema>;

export const withdrawalStateSchema = z.object({
  /** PENDING: sent, not yet confirmed (ask again later). */
  status: z.enum(['PENDING', 'CONFIRMED', 'FAILED']),
  chainTransactionId: z.uuid().nullable(),
  hash: z.string().nullable(),
  /** FAILED only: CHAIN_TRANSACTION_FAILED (reverted or replaced) or UPSTREAM_UNAVAILABLE (nothing was sent). */
  failureCode: z.enum(['CHAIN_TRANSACTION_FAILED', 'UPSTREAM_UNAVAILABLE']).nullable(),
  failureMessage: z.string().nullable(),
});
export type WithdrawalState = z.infer<typeof withdrawalStateSchema>;

export const withdrawalCall = internalCall(WITHDRAWAL_PATH, withdrawalRequestSchema, withdrawalStateSchema);
