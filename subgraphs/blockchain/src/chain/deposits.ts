import { and, asc, eq, sql } from 'drizzle-orm';
import { type Address, encodeFunctionData } from 'viem';
import { carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import { formatAmount } from '../../../../lib/money.js';
import { type PeriodicTask, startPeriodic } from '../../../../lib/server/periodic.js';
import { type DepositRow, deposits } from '../db/schema.js';
import type { BlockchainServiceDeps } from '../deps.js';
import { failureOf, isFailed, latestSentFor, settledSoon } from './records.js';

const BATCH_SIZE_MAX = 20;

/** What the transaction subgraph turns into a CARBON DEPOSIT, once per deposit id. */
export const CARBON_DEPOSIT_KIND = 'CARBON_DEPOSIT';

export type DepositSweeper = PeriodicTask<number>;

/**
 * Takes MCO2 that another address sent to a custodial address into the ledger, exactly once per transfer log:
 * 1. a TRANSFER the indexer stored, to a custodial address, at least CONFIRMATIONS deep, becomes a deposit
 *    (keyed by the log's row, so never twice); transfers from the staking contract (unstaking, rewards) and
 *    mints (withdrawals to oneself) stay on chain;
 * 2. the custodial key burns the amount (the transaction carries the deposit id, so a retry finds it);
 * 3. once the burn is confirmed, the deposit is CREDITED and a CARBON_DEPOSIT event is written in the same SQL
 *    transaction; the transaction subgraph credits the user's CARBON from it, idempotent by the deposit id.
 * A burn that fails (the tokens were staked meanwhile, no gas) marks the deposit FAILED: nothing is credited.
 * One instance sweeps at a time (an advisory lock per pass), so two never burn the same deposit.
 */
export function startDepositSweeper(deps: BlockchainServiceDeps, options: { intervalMs: number }): DepositSweeper {
  const { chain, db } = deps;

  async function findNew(): Promise<void> {
    const head = await chain.call('eth_blockNumber', () => chain.publicClient.getBlockNumber({ cacheTime: 0 }));
    const deepest = head - BigInt(chain.confirmationsMin) + 1n;
    await db.execute(sql`
      insert into deposits (chain_event_id, user_id, amount, tx_hash)
      select e.id, (e.data->>'toUserId')::uuid, e.amount, e.tx_hash
      from chain_events e
      where e.contract = 'token' and e.kind = 'TRANSFER' and e.data ? 'toUserId'
        and e.data->>'from' <> ${chain.contracts.staking} and e.block_number <= ${deepest.toString()}
        and not exists (select 1 from deposits d where d.chain_event_id = e.id)
      on conflict (chain_event_id) do nothing`);
  }

  async function sweep(deposit: DepositRow): Promise<void> {
    let burn = await latestSentFor(db, deposit.id, 'DEPOSIT_BURN');
    if (!burn) {
      const account = await deps.custody.findAccount(deposit.userId);
      if (!account) throw new Error(`deposit ${deposit.id} for a user without a custodial account`);
      const data = encodeFunctionData({ abi: carbonTokenAbi, functionName: 'burn', args: [BigInt(deposit.amount)] });
      burn = await deps.sender.send({ signer: deps.custody.signerOf(account), kind: 'DEPOSIT_BURN', userId: deposit.userId, reference: deposit.id, to: chain.contracts.token as Address, data });
    }
    burn = await settledSoon(chain, deps.tracker, burn);
    if (isFailed(burn)) {
      chain.log.warn({ depositId: deposit.id, reason: failureOf(burn) }, 'could not burn a deposit; not credited');
      await db.update(deposits).set({ status: 'FAILED', failureMessage: failureOf(burn), updatedAt: new Date() }).where(eq(deposits.chainEventId, deposit.chainEventId));
      return;
    }
    if (burn.status !== 'CONFIRMED') return;
    await db.transaction(async (tx) => {
      const credited = await tx
        .update(deposits)
        .set({ status: 'CREDITED', updatedAt: new Date() })
        .where(and(eq(deposits.chainEventId, deposit.chainEventId), eq(deposits.status, 'BURNING')))
        .returning();
      if (credited.length === 0) return;
      await enqueueEvents(tx, [
        createEnvelope('blockchain.event', deposit.userId, {
          kind: CARBON_DEPOSIT_KIND,
          depositId: deposit.id,
          userId: deposit.userId,
          amount: formatAmount(BigInt(deposit.amount), 'CARBON'),
          amountMinor: deposit.amount,
          txHash: deposit.txHash,
          burnTxHash: burn.hash as string,
        }),
      ]);
    });
  }

  async function pass(stopped: () => boolean): Promise<number> {
    await findNew();
    const open = await db.select().from(deposits).where(eq(deposits.status, 'BURNING')).orderBy(asc(deposits.createdAt)).limit(BATCH_SIZE_MAX);
    for (const deposit of open) {
      if (stopped()) break;
      await sweep(deposit);
    }
    return open.length;
  }

  return startPeriodic({ what: 'sweeping chain deposits', intervalMs: options.intervalMs, firstDelayMs: 0, log: chain.log, pass, exclusive: { db, lock: 'blockchain.deposit-sweeper', skipped: 0 } });
}
