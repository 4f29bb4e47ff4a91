import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { type Hash, TransactionNotFoundError } from 'viem';
import type * as schema from '../db/schema.js';
import { type ChainTransactionKind, type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import type { Chain } from './clients.js';

/** How long a workflow waits for its own transaction to be mined before it answers "still on its way". */
export const RECEIPT_WAIT_MS = 10_000;

/**
 * How old a SUBMITTED transaction the node does not know must be before it is taken for lost: well past the
 * broadcast's time-out with its retry (RPC_TIMEOUT_MS, 10 s by default), so a broadcast still on its way to the
 * node cannot arrive after its nonce was given to another transaction.
 */
export const LOST_AFTER_MS = 120_000;

/**
 * Ends a SUBMITTED transaction FAILED when the node does not know it (eth_getTransactionByHash finds nothing) and
 * it was recorded more than LOST_AFTER_MS ago: it never reached the node (a crash between record and broadcast,
 * a broadcast without an answer) or the node dropped it, and as nobody broadcasts it again it will never be
 * mined. Its workflow then sees a failure, as for any FAILED transaction, and its nonce is free. A compare-and-set
 * on the status and the age (by the database's clock), so a row another instance has settled meanwhile stays as it
 * is. Whether it was ended.
 */
export async function endIfLost(chain: Chain, db: PostgresJsDatabase<typeof schema>, row: ChainTransactionRow): Promise<boolean> {
  // The database's clock decides below; this spares the node a question about a transaction too young anyway.
  if (row.status !== 'SUBMITTED' || !row.hash || Date.now() - row.createdAt.getTime() < LOST_AFTER_MS) return false;
  const hash = row.hash as Hash;
  const known = await chain.call('eth_getTransactionByHash', () =>
    chain.publicClient.getTransaction({ hash }).then(
      () => true,
      (error: unknown) => (error instanceof TransactionNotFoundError ? false : Promise.reject(error)),
    ),
  );
  if (known) return false;
  const reason = `never reached the node (or the node dropped it); nonce ${row.nonce} reused`;
  const ended = await db
    .update(chainTransactions)
    .set({ status: 'FAILED', revertReason: reason, updatedAt: new Date() })
    .where(and(eq(chainTransactions.id, row.id), eq(chainTransactions.status, 'SUBMITTED'), lt(chainTransactions.createdAt, sql`now() - make_interval(secs => ${LOST_AFTER_MS / 1000})`)))
    .returning({ id: chainTransactions.id });
  if (ended.length === 0) return false;
  chain.log.warn({ id: row.id, kind: row.kind, reference: row.reference, signer: row.signer, nonce: row.nonce, hash }, `chain transaction ended FAILED: ${reason}`);
  return true;
}

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
export async function settledSoon(chain: Chain, tracker: { settleNow(id: string): Promise<ChainTransactionRow> }, row: ChainTransactionRow): Promise<ChainTransactionRow> {
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
