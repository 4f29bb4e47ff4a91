import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { encodeFunctionData, type Hash, parseEventLogs } from 'viem';
import { z } from 'zod';
import { carbonTokenAbi } from '../../../../contracts/artifacts/index.js';
import type { Envelope } from '../../../../lib/events/envelope.js';
import type { SqlExecutor } from '../../../../lib/events/outbox.js';
import { type PeriodicTask, startPeriodic } from '../../../../lib/server/periodic.js';
import { type ChainRetirementRow, type ChainTransactionRow, chainRetirements, chainTransactions } from '../db/schema.js';
import type { BlockchainServiceDeps } from '../resolvers/context.js';
import { failureOf, isFailed, latestSentFor, settledSoon } from './records.js';

/** Sends of one step (mint or retire) that may fail before the chain side gives up on a retirement. */
const SEND_ATTEMPTS_MAX = 3;
const BATCH_SIZE_MAX = 10;

const completedRetirement = z.object({
  transactionId: z.uuid(),
  type: z.literal('RETIREMENT'),
  status: z.literal('COMPLETED'),
  fromUserId: z.uuid(),
  amountMinor: z.string().regex(/^[1-9]\d*$/),
  retirement: z.object({ beneficiary: z.string(), message: z.string().nullable() }),
});

/**
 * From `transaction.status`: a retirement completed on the ledger is queued to be recorded on chain. Other
 * transactions are not this subgraph's business; a retirement event without its certificate text is logged
 * and dropped rather than retried for ever.
 */
export async function queueRetirement(deps: Pick<BlockchainServiceDeps, 'chain'>, envelope: Envelope, tx: SqlExecutor): Promise<void> {
  if (envelope.data.type !== 'RETIREMENT' || envelope.data.status !== 'COMPLETED') return;
  const parsed = completedRetirement.safeParse(envelope.data);
  if (!parsed.success) {
    deps.chain.log.warn({ eventId: envelope.id, issues: z.prettifyError(parsed.error) }, 'retirement event without what the certificate needs; not recorded on chain');
    return;
  }
  const retirement = parsed.data;
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

  async function pass(stopped: () => boolean): Promise<number> {
    const open = await db
      .select()
      .from(chainRetirements)
      .where(and(isNull(chainRetirements.certificateId), isNull(chainRetirements.failureMessage)))
      .orderBy(asc(chainRetirements.createdAt))
      .limit(BATCH_SIZE_MAX);
    for (const row of open) {
      if (stopped()) break;
      await record(row);
    }
    return open.length;
  }

  return startPeriodic({ what: 'recording retirements on chain', intervalMs: options.intervalMs, firstDelayMs: 0, log: chain.log, pass, exclusive: { db, lock: 'blockchain.retirement-recorder', skipped: 0 } });
}

export type RetirementChainStatus = 'QUEUED' | 'SUBMITTED' | 'CONFIRMED' | 'FAILED';

/** A retirement's chain side as the Retirement entity shows it. */
export interface RetirementChainSide {
  id: string;
  chainStatus: RetirementChainStatus;
  txHash: string | null;
  certificateId: string | null;
  chainTransaction: ChainTransactionRow | null;
}

export async function chainSideOf(deps: Pick<BlockchainServiceDeps, 'db'>, id: string): Promise<RetirementChainSide> {
  const [row] = await deps.db.select().from(chainRetirements).where(eq(chainRetirements.id, id));
  const [retire] = row?.retireTransactionId ? await deps.db.select().from(chainTransactions).where(eq(chainTransactions.id, row.retireTransactionId)) : [];
  const mint = row && !retire ? await latestSentFor(deps.db, id, 'MINT') : undefined;
  let chainStatus: RetirementChainStatus = 'QUEUED';
  if (row?.failureMessage) chainStatus = 'FAILED';
  else if (row?.certificateId && retire?.status === 'CONFIRMED') chainStatus = 'CONFIRMED';
  else if (retire || mint) chainStatus = 'SUBMITTED';
  return { id, chainStatus, txHash: retire?.hash ?? null, certificateId: row?.certificateId ?? null, chainTransaction: retire ?? null };
}
