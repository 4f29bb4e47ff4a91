import { and, asc, desc, eq, inArray, isNull, notInArray, or, sql } from 'drizzle-orm';
import { encodeFunctionData, type Hash, parseEventLogs } from 'viem';
import { carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import { createEnvelope, type Event, type EventData } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents, type SqlExecutor } from '../../../../lib/events/outbox.js';
import type { RETIREMENT_CHAIN_STATUSES } from '../../../../lib/events/contracts/blockchain-event.js';
import { formatAmount } from '../../../../lib/money.js';
import { type PeriodicTask, startPeriodic } from '../../../../lib/server/periodic.js';
import { type ChainRetirementRow, type ChainTransactionRow, chainRetirements, chainTransactions } from '../db/schema.js';
import type { BlockchainServiceDeps } from '../deps.js';
import { failureOf, isFailed, latestSentFor, settledSoon } from './records.js';
import { BatchedRead } from '../../../../lib/server/request-loaders.js';

/** Sends of one step (mint or retire) that may fail before the chain side gives up on a retirement. */
const SEND_ATTEMPTS_MAX = 3;
const BATCH_SIZE_MAX = 10;

type TransactionStatus = EventData<'transaction.status'>;

/** The one kind of `transaction.status` this subgraph acts on; every other one passes it by. */
export const isCompletedRetirement = (data: TransactionStatus): data is Extract<TransactionStatus, { type: 'RETIREMENT' }> => data.type === 'RETIREMENT' && data.status === 'COMPLETED';

/**
 * From `transaction.status`: a retirement completed on the ledger is queued to be recorded on chain. Other
 * transactions are not this subgraph's business. A retirement is always the retiring user's own (fromUserId);
 * one without would be the transaction subgraph's bug, logged and not recorded rather than retried for ever.
 */
export async function queueRetirement(deps: Pick<BlockchainServiceDeps, 'chain'>, event: Event<'transaction.status'>, tx: SqlExecutor): Promise<void> {
  const retirement = event.data;
  if (!isCompletedRetirement(retirement)) return;
  if (!retirement.fromUserId) {
    deps.chain.log.error({ eventId: event.id, transactionId: retirement.transactionId }, 'retirement without the user who retired; not recorded on chain');
    return;
  }
  await tx.execute(sql`insert into chain_retirements (id, user_id, amount, beneficiary, message)
    values (${retirement.transactionId}, ${retirement.fromUserId}, ${retirement.amountMinor}, ${retirement.retirement.beneficiary}, ${retirement.retirement.message})
    on conflict (id) do nothing`);
}

export type RetirementRecorder = PeriodicTask<number>;

/**
 * Records queued retirements on chain, one at a time: the operator mints the tonnes to itself, then retires
 * them with the certificate's beneficiary and message, and the certificate number from the Retired event is
 * stored. Each step's transaction carries the retirement id, so after a crash or a time-out a pass finds what
 * was sent and goes on from there; a step that fails SEND_ATTEMPTS_MAX times marks the chain side FAILED.
 * One instance records at a time (an advisory lock per pass), so two never send the same step.
 */
export function startRetirementRecorder(deps: BlockchainServiceDeps, options: { intervalMs: number }): RetirementRecorder {
  const { chain, db } = deps;

  const giveUp = (row: ChainRetirementRow, reason: string) =>
    db.update(chainRetirements).set({ failureMessage: reason, updatedAt: new Date() }).where(eq(chainRetirements.id, row.id));

  /** The step's transaction: the one already sent, or a new one while attempts are left; null when it gave up. */
  async function step(row: ChainRetirementRow, kind: 'MINT' | 'RETIRE', data: `0x${string}`): Promise<ChainTransactionRow | null> {
    let sent = await latestSentFor(db, row.id, kind);
    if (!sent || isFailed(sent)) {
      const [counted] = await db
        .select({ failed: sql<number>`count(*)::int` })
        .from(chainTransactions)
        .where(and(eq(chainTransactions.reference, row.id), eq(chainTransactions.kind, kind), inArray(chainTransactions.status, ['FAILED', 'REPLACED'])));
      const failed = counted?.failed ?? 0;
      if (failed >= SEND_ATTEMPTS_MAX) {
        await giveUp(row, `${kind === 'MINT' ? 'minting' : 'retiring'} failed ${failed} times: ${sent ? failureOf(sent) : 'not sent'}`);
        return null;
      }
      sent = await deps.sender.send({ signer: chain.operator, kind, userId: row.userId, reference: row.id, to: chain.contracts.token, data });
    }
    return settledSoon(chain, deps.tracker, sent);
  }

  async function record(row: ChainRetirementRow): Promise<void> {
    const amount = BigInt(row.amount);
    const mint = await step(row, 'MINT', encodeFunctionData({ abi: carbonTokenAbi, functionName: 'mint', args: [chain.operator.address, amount] }));
    if (!mint || (mint.status !== 'MINED' && mint.status !== 'CONFIRMED')) return;
    const retireData = encodeFunctionData({ abi: carbonTokenAbi, functionName: 'retire', args: [amount, row.beneficiary, row.message ?? ''] });
    const retire = await step(row, 'RETIRE', retireData);
    if (!retire) return;
    await db.update(chainRetirements).set({ retireTransactionId: retire.id, updatedAt: new Date() }).where(eq(chainRetirements.id, row.id));
    if (retire.status !== 'MINED' && retire.status !== 'CONFIRMED') return;
    const hash = retire.hash as Hash;
    const receipt = await chain.call('eth_getTransactionReceipt', () => chain.publicClient.getTransactionReceipt({ hash }));
    const [retired] = parseEventLogs({ abi: carbonTokenAbi, logs: receipt.logs, eventName: 'Retired' });
    if (!retired) throw new Error(`retire transaction ${hash} has no Retired event`);
    await db.update(chainRetirements).set({ certificateId: retired.args.id.toString(), updatedAt: new Date() }).where(eq(chainRetirements.id, row.id));
  }

  /**
   * Tells a change of the retirement's chain status (RETIREMENT_CHAIN_STATUS, in the SQL transaction that
   * notes it told it): its owner's transactionUpdated feed and notices follow from it.
   */
  async function announce(row: ChainRetirementRow): Promise<void> {
    const side = await chainSideOf(deps, row.id);
    const told = row.announcedChainStatus;
    if (side.chainStatus === (told ?? 'QUEUED')) return;
    await db.transaction(async (tx) => {
      const [claimed] = await tx
        .update(chainRetirements)
        .set({ announcedChainStatus: side.chainStatus, updatedAt: new Date() })
        .where(and(eq(chainRetirements.id, row.id), told === null ? isNull(chainRetirements.announcedChainStatus) : eq(chainRetirements.announcedChainStatus, told)))
        .returning({ id: chainRetirements.id });
      if (!claimed) return;
      await enqueueEvents(tx, [
        createEnvelope('blockchain.event', row.userId, {
          kind: 'RETIREMENT_CHAIN_STATUS',
          retirementId: row.id,
          userId: row.userId,
          chainStatus: side.chainStatus,
          amount: formatAmount(BigInt(row.amount), 'CARBON'),
          beneficiary: row.beneficiary,
          txHash: side.txHash,
          certificateId: side.certificateId,
        }),
      ]);
    });
  }

  /** Retirements whose chain status has not been told final yet: some still to record, some waiting for depth. */
  async function pass(stopped: () => boolean): Promise<number> {
    const open = await db
      .select()
      .from(chainRetirements)
      .where(or(isNull(chainRetirements.announcedChainStatus), notInArray(chainRetirements.announcedChainStatus, ['CONFIRMED', 'FAILED'])))
      .orderBy(asc(chainRetirements.createdAt))
      .limit(BATCH_SIZE_MAX);
    for (const row of open) {
      if (stopped()) break;
      if (row.certificateId === null && row.failureMessage === null) await record(row);
      await announce(row);
    }
    return open.length;
  }

  return startPeriodic({ what: 'recording retirements on chain', intervalMs: options.intervalMs, firstDelayMs: 0, log: chain.log, pass, exclusive: { db, lock: 'blockchain.retirement-recorder', skipped: 0 } });
}

export type RetirementChainStatus = (typeof RETIREMENT_CHAIN_STATUSES)[number];

/** A retirement's chain side as the Retirement entity shows it. */
export interface RetirementChainSide {
  id: string;
  chainStatus: RetirementChainStatus;
  txHash: string | null;
  certificateId: string | null;
  chainTransaction: ChainTransactionRow | null;
}

export async function chainSideOf(deps: Pick<BlockchainServiceDeps, 'db'>, id: string): Promise<RetirementChainSide> {
  const [side] = await chainSidesOf(deps, [id]);
  if (!side) throw new Error(`no chain side made for retirement ${id}`);
  return side;
}

/**
 * The chain sides of retirements, one per id (QUEUED for one not queued yet), in at most three statements
 * whatever the number of ids: the queued rows, their retire transactions, and the latest mint of those not
 * retiring yet.
 */
export async function chainSidesOf({ db }: Pick<BlockchainServiceDeps, 'db'>, ids: readonly string[]): Promise<RetirementChainSide[]> {
  const rows = await db.select().from(chainRetirements).where(inArray(chainRetirements.id, [...ids]));
  const retireIds = rows.flatMap((row) => (row.retireTransactionId ? [row.retireTransactionId] : []));
  const retires = retireIds.length > 0 ? await db.select().from(chainTransactions).where(inArray(chainTransactions.id, retireIds)) : [];
  const retireOf = (row: ChainRetirementRow) => retires.find((retire) => retire.id === row.retireTransactionId);
  const minting = rows.filter((row) => !retireOf(row)).map((row) => row.id);
  const mints =
    minting.length > 0
      ? await db
          .selectDistinctOn([chainTransactions.reference])
          .from(chainTransactions)
          .where(and(inArray(chainTransactions.reference, minting), eq(chainTransactions.kind, 'MINT')))
          .orderBy(chainTransactions.reference, desc(chainTransactions.createdAt))
      : [];
  return ids.map((id) => {
    const row = rows.find((candidate) => candidate.id === id);
    const retire = row && retireOf(row);
    const mint = row && !retire ? mints.find((candidate) => candidate.reference === id) : undefined;
    let chainStatus: RetirementChainStatus = 'QUEUED';
    if (row?.failureMessage) chainStatus = 'FAILED';
    else if (row?.certificateId && retire?.status === 'CONFIRMED') chainStatus = 'CONFIRMED';
    else if (retire || mint) chainStatus = 'SUBMITTED';
    return { id, chainStatus, txHash: retire?.hash ?? null, certificateId: row?.certificateId ?? null, chainTransaction: retire ?? null };
  });
}

/** `chainSidesOf` batched per request (lib/server/request-loaders.ts), for Retirement references. */
export const chainSides = (deps: Pick<BlockchainServiceDeps, 'db'>) => new BatchedRead<RetirementChainSide>((ids) => chainSidesOf(deps, ids), (side) => side.id);
