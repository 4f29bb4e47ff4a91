import { and, eq, inArray } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { type Address, type Hash, TransactionReceiptNotFoundError } from 'viem';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import type * as schema from '../db/schema.js';
import { type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import type { Chain } from './clients.js';
import { revertReasonOf } from './errors.js';
import { endIfLost } from './records.js';

/** Open transactions looked at per pass. */
const TRACK_BATCH_SIZE_MAX = 100;

/**
 * Follows every SUBMITTED or MINED transaction: MINED once in a block, CONFIRMED at `confirmationsMin` blocks
 * deep, FAILED with the decoded revert reason when it reverted, REPLACED when its nonce was used by another
 * transaction, FAILED when the node has not known it for LOST_AFTER_MS (`endIfLost`: it never reached the node,
 * and its nonce goes to the next send), and back to SUBMITTED when a reorg took its block away. Its pass runs in
 * one instance at a time (an advisory lock per pass); `settleNow` may run in any, so each update is a
 * compare-and-set on the status it read, and a settlement from a reading another instance has already moved on
 * from changes nothing.
 */
export interface Tracker extends BackgroundTask {
  pass(): Promise<void>;
  /** Settles one transaction now (after its caller saw its receipt) rather than at the next pass. */
  settleNow(id: string): Promise<ChainTransactionRow>;
}

export function startTracker(options: { chain: Chain; db: PostgresJsDatabase<typeof schema>; pollIntervalMs: number }): Tracker {
  const { chain, db } = options;

  async function settle(row: ChainTransactionRow, headBlock: bigint): Promise<void> {
    const hash = row.hash as Hash;
    const minedNonceCount = await chain.publicClient.getTransactionCount({ address: row.signer as Address, blockTag: 'latest' });
    const receipt = await chain.publicClient.getTransactionReceipt({ hash }).catch((error: unknown) => {
      if (error instanceof TransactionReceiptNotFoundError) return null;
      throw error;
    });
    const update = (fields: Partial<ChainTransactionRow>) =>
      db
        .update(chainTransactions)
        .set({ ...fields, updatedAt: new Date() })
        .where(and(eq(chainTransactions.id, row.id), eq(chainTransactions.status, row.status)));
    if (!receipt) {
      if (row.status === 'MINED') await update({ status: 'SUBMITTED', blockNumber: null, blockHash: null });
      else if (row.nonce !== null && minedNonceCount > row.nonce) await update({ status: 'REPLACED' });
      // Lost with no later send from its signer to find it (chain/sender.ts): its workflow still gets an end.
      else await endIfLost(chain, db, row);
      return;
    }
    if (receipt.status === 'reverted') {
      await update({ status: 'FAILED', blockNumber: receipt.blockNumber, blockHash: receipt.blockHash, revertReason: await replayRevert(hash, receipt.blockNumber) });
      return;
    }
    const depth = Number(headBlock - receipt.blockNumber + 1n);
    await update({ status: depth >= chain.confirmationsMin ? 'CONFIRMED' : 'MINED', blockNumber: receipt.blockNumber, blockHash: receipt.blockHash });
  }

  /** A receipt has no reason; the call is replayed on the state before its block to get it. */
  async function replayRevert(hash: Hash, blockNumber: bigint): Promise<string> {
    const transaction = await chain.publicClient.getTransaction({ hash });
    try {
      await chain.publicClient.call({ account: transaction.from, to: transaction.to, data: transaction.input, value: transaction.value, gas: transaction.gas, blockNumber: blockNumber - 1n });
      return 'reverted (out of gas, or the reason depends on transactions earlier in its block)';
    } catch (error) {
      return revertReasonOf(error) ?? 'reverted without a reason';
    }
  }

  async function pass(): Promise<void> {
    const open = await db.select().from(chainTransactions).where(inArray(chainTransactions.status, ['SUBMITTED', 'MINED'])).orderBy(chainTransactions.createdAt).limit(TRACK_BATCH_SIZE_MAX);
    if (open.length === 0) return;
    const headBlock = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    for (const row of open) await settle(row, headBlock);
  }

  const periodic = startPeriodic({ what: 'transaction tracker pass', intervalMs: options.pollIntervalMs, log: chain.log, pass, exclusive: { db, lock: 'blockchain.tracker', skipped: undefined } });

  async function settleNow(id: string): Promise<ChainTransactionRow> {
    const read = async () => (await db.select().from(chainTransactions).where(eq(chainTransactions.id, id)))[0] as ChainTransactionRow;
    const row = await read();
    if (row.status !== 'SUBMITTED' && row.status !== 'MINED') return row;
    await chain.call('settle a transaction', async () => settle(row, await chain.publicClient.getBlockNumber({ cacheTime: 0 })));
    return read();
  }

  return { pass: periodic.runOnce, settleNow, stop: periodic.stop };
}
