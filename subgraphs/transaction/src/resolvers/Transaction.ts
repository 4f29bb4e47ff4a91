import { scaledToDecimal, trimDecimal } from '../../../../lib/decimal.js';
import { formatAmount, SCALE } from '../../../../lib/money.js';
import type { RetirementResolvers, TransactionResolvers } from '../generated/resolvers-types.js';
import type { TransactionReads } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';

const userReference = (id: string | null) => (id ? { __typename: 'User' as const, id } : null);

export const transactionResolvers = (reads: TransactionReads): TransactionResolvers => ({
  __resolveReference: (reference, { loaders }) => reads.visibleTransactions.one(loaders, reference.id),
  amount: (row) => formatAmount(BigInt(row.amount), row.currency),
  from: (row) => userReference(row.fromUserId),
  to: (row) => userReference(row.toUserId),
  purchase: (row) =>
    row.type === 'PURCHASE' && row.usdAmount && row.carbonAmount && row.pricePerTonne
      ? {
          tonnes: formatAmount(BigInt(row.carbonAmount), 'CARBON'),
          totalUsd: formatAmount(BigInt(row.usdAmount), 'USD'),
          pricePerTonne: trimDecimal(row.pricePerTonne),
          priceSource: row.priceSource ?? 'unknown',
        }
      : null,
  withdrawal: (row) =>
    row.type === 'WITHDRAWAL' && row.toAddress
      ? { toAddress: row.toAddress, chainTransaction: row.chainTransactionId ? { __typename: 'ChainTransaction' as const, id: row.chainTransactionId } : null }
      : null,
  retirement: (row, _args, { loaders }) => (row.type === 'RETIREMENT' && row.status === 'COMPLETED' ? reads.retirements.one(loaders, row.id) : null),
});

/** Tonnes as the token counts them, and kilograms for people (1 tonne = 1000 kg). */
export const retirementResolvers = (reads: TransactionReads): RetirementResolvers => ({
  async __resolveReference(reference, { identity, loaders }) {
    signedIn(identity);
    const row = await reads.visibleTransactions.one(loaders, reference.id);
    if (!row || row.type !== 'RETIREMENT') return null;
    return reads.retirements.one(loaders, row.id);
  },
  tonnes: (retirement) => formatAmount(BigInt(retirement.amount), 'CARBON'),
  // The same count of 10^-18 tonnes is a count of 10^-15 kilograms: exact, no rounding.
  kilograms: (retirement) => scaledToDecimal(BigInt(retirement.amount), SCALE.CARBON - 3),
});
