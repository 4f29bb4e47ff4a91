import { eq } from 'drizzle-orm';
import { scaledToDecimal, trimDecimal } from '../../../../lib/decimal.js';
import { formatAmount, SCALE } from '../../../../lib/money.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type RetirementRow, retirements, type TransactionRow } from '../db/schema.js';
import { visibleTransaction } from '../reads/history.js';
import { signedIn } from '../workflows/context.js';
import type { TransactionServiceDeps } from './context.js';

const userReference = (id: string | null) => (id ? { __typename: 'User', id } : null);

export const transactionResolvers = (deps: TransactionServiceDeps) => ({
  __resolveReference: (reference: { id: unknown }, { identity }: SubgraphContext) => (identity ? visibleTransaction(deps.db, identity, reference.id) : null),
  amount: (row: TransactionRow) => formatAmount(BigInt(row.amount), row.currency),
  from: (row: TransactionRow) => userReference(row.fromUserId),
  to: (row: TransactionRow) => userReference(row.toUserId),
  purchase: (row: TransactionRow) =>
    row.type === 'PURCHASE' && row.usdAmount && row.carbonAmount && row.pricePerTonne
      ? {
          tonnes: formatAmount(BigInt(row.carbonAmount), 'CARBON'),
          totalUsd: formatAmount(BigInt(row.usdAmount), 'USD'),
          pricePerTonne: trimDecimal(row.pricePerTonne),
          priceSource: row.priceSource ?? 'unknown',
        }
      : null,
  withdrawal: (row: TransactionRow) =>
    row.type === 'WITHDRAWAL' && row.toAddress
      ? { toAddress: row.toAddress, chainTransaction: row.chainTransactionId ? { __typename: 'ChainTransaction', id: row.chainTransactionId } : null }
      : null,
  async retirement(row: TransactionRow) {
    if (row.type !== 'RETIREMENT' || row.status !== 'COMPLETED') return null;
    const [retirement] = await deps.db.select().from(retirements).where(eq(retirements.id, row.id));
    return retirement ?? null;
  },
});

/** Tonnes as the token counts them, and kilograms for people (1 tonne = 1000 kg). */
export const retirementResolvers = (deps: TransactionServiceDeps) => ({
  async __resolveReference(reference: { id: unknown }, { identity }: SubgraphContext) {
    const row = await visibleTransaction(deps.db, signedIn(identity), reference.id);
    if (!row || row.type !== 'RETIREMENT') return null;
    const [retirement] = await deps.db.select().from(retirements).where(eq(retirements.id, row.id));
    return retirement ?? null;
  },
  tonnes: (retirement: RetirementRow) => formatAmount(BigInt(retirement.amount), 'CARBON'),
  // The same count of 10^-18 tonnes is a count of 10^-15 kilograms: exact, no rounding.
  kilograms: (retirement: RetirementRow) => scaledToDecimal(BigInt(retirement.amount), SCALE.CARBON - 3),
});
