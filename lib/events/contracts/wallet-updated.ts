import { z } from 'zod';
import { currency, signedMinorUnits, timestamp } from './fields.js';

/** `wallet.updated`, keyed by the user id: a posting changed one of a user's wallets (one event per wallet). */
export const walletUpdatedV1 = z.object({
  walletId: z.uuid(),
  userId: z.uuid(),
  currency,
  /** The balance after the posting, in the currency's units: "0.00", "2.500000000000000000". */
  balance: z.string().regex(/^(0|[1-9]\d{0,59})\.\d{1,18}$|^(0|[1-9]\d{0,59})$/),
  balanceMinor: signedMinorUnits,
  changeMinor: signedMinorUnits.refine((value) => value !== '0', 'a posting never changes a wallet by zero'),
  /** The posting's id: the business transaction's id for every workflow posting. */
  postingId: z.uuid(),
  postingKind: z.string().regex(/^[a-z][a-z_]{0,39}$/),
  updatedAt: timestamp,
});
export type WalletUpdatedV1 = z.infer<typeof walletUpdatedV1>;
