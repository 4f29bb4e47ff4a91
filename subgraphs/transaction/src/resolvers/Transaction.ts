import { eq } from 'drizzle-orm';
import { scaledToDecimal, trimDecimal } from '../../../../lib/decimal.js';
import { formatAmount, SCALE } from '../../../../lib/money.js';
import { retirements } from '../db/schema.js';
import type { RetirementResolvers, TransactionResolvers } from '../generated/resolvers-types.js';
import { visibleTransaction } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { TransactionServiceDeps } from '../deps.js';

const userReference = (id: string | null) => (id ? { __typename: 'User' as const, id } : null);

export const transactionResolvers = (deps: TransactionServiceDeps): TransactionResolvers => ({
  __resolveReference: (reference, { identity }) => (identity ? visibleTransaction(deps.db, identity, reference.id) : null),
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
  async retirement(row) {
    if (row.type !== 'RETIREMENT' || row.status !== 'COMPLETED') return null;
    const [retirement] = await deps.db.select().from(retirements).where(eq(retirements.id, row.id));
    return retirement ?? null;
  },
});

/** Tonnes as the token counts them, and kilograms for people (1 tonne = 1000 kg). */
export const retirementResolvers = (deps: TransactionServiceDeps): RetirementResolvers => ({
  async __resolveReference(reference, { identity }) {
    const row = await visibleTransaction(deps.db, signedIn(identity), reference.id);
    if (!row || row.type !== 'RETIREMENT') return null;
    const [retirement] = await deps.db.select().from(retirements).where(eq(retirements.id, row.id));
    return retirement ?? null;
  },
  tonnes: (retirement) => formatAmount(BigInt(retirement.amount), 'CARBON'),
  // The same count of 10^-18 tonnes is a count of 10^-15 kilograms: exact, no rounding.
  kilograms: (retirement) => scaledToDecimal(BigInt(retirement.amount), SCALE.CARBON - 3),
});
