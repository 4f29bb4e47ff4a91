import { and, desc, eq } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Hash } from 'viem';
import type * as schema from '../db/schema.js';
import { type ChainTransactionKind, type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import type { Chain } from './clients.js';
import type { Tracker } from './tracker.js';

/** How long a workflow waits for its own transaction to be mined before it answers "still on its way". */
export const RECEIPT_WAIT_MS = 10_000;

/** The newest transaction of this kind sent for a platform record, if any: how a retry finds it was sent. */
export async function latestSentFor(db: PostgresJsDatabase<typeof schema>, reference: string, kind: ChainTransactionKind): Promise<ChainTransactionRow | undefined> {
  const [row] = await db
    .select()
    .from(chainTransactions)
    .where(and(eq(chainTransactions.reference, reference), eq(chainTransactions.kind, kind)))
    .orderBy(desc(chainTransactions.createdAt))
    .limit(1);
  return row;
}

/**
 * Waits (bounded) for a transaction just sent to be mined, then settles it at once so the answer says
 * CONFIRMED or FAILED when it can. A node that does not answer in time leaves it to the tracker.
 */
export async function settledSoon(chain: Chain, tracker: Tracker, row: ChainTransactionRow): Promise<ChainTransactionRow> {
  if (!row.hash || (row.status !== 'SUBMITTED' && row.status !== 'MINED')) return row;
  const hash = row.hash as Hash;
  try {
    await chain.publicClient.waitForTransactionReceipt({ hash, timeout: RECEIPT_WAIT_MS });
    return await tracker.settleNow(row.id);
  } catch (error) {
    chain.log.info({ hash, err: error instanceof Error ? error.message : String(error) }, 'transaction not settled yet; the tracker follows it');
    return row;
  }
}

/** Whether a transaction's effect is final: in a block at the required depth, or never going to happen. */
export const isFailed = (row: ChainTransactionRow) => row.status === 'FAILED' || row.status === 'REPLACED';
export const failureOf = (row: ChainTransactionRow) => (row.status === 'REPLACED' ? 'replaced by another transaction with the same nonce' : (row.revertReason ?? 'reverted'));
