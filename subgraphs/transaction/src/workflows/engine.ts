import { createHash, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { AppError } from '../../../../lib/errors.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import { type InternalClient, UpstreamUnavailable } from '../../../../lib/internal-client.js';
import { type PostingRequest, postingCall } from '../../../../lib/ledger/posting.js';
import type { Logger } from '../../../../lib/log.js';
import { formatAmount } from '../../../../lib/money.js';
import type * as schema from '../db/schema.js';
import { retirements, type TransactionRow, transactions } from '../db/schema.js';
import { sendWithdrawal } from './withdrawal.js';

export type TransactionDb = PostgresJsDatabase<typeof schema>;
export type SqlTransaction = Parameters<Parameters<TransactionDb['transaction']>[0]>[0];
/**
 * A check that needs the database to decide (a total per day): it runs in the same SQL transaction as the new
 * PENDING row, after the insert, so it sees that row; throwing refuses the request and rolls the row back.
 * It does not run for a replay of a key already used.
 */
export type Admission = (tx: SqlTransaction, row: TransactionRow) => Promise<void>;

export interface EngineDeps {
  db: TransactionDb;
  /** The user subgraph, which owns balances and applies postings. */
  users: InternalClient;
  /** The blockchain subgraph, which mints withdrawals. */
  blockchain: InternalClient;
  log: Logger;
}

/** A workflow's request, checked and priced, ready to be recorded PENDING and applied. */
export type NewTransaction = Omit<typeof transactions.$inferInsert, 'id' | 'status' | 'requestHash' | 'posting' | 'amount'> & {
  amount: bigint;
  /** Everything that makes two requests "the same", for IDEMPOTENCY_KEY_REUSED. */
  request: Record<string, unknown>;
  buildPosting(transactionId: string): PostingRequest;
};

/** A request that has not been answered yet is left to the recovery loop after this long. */
const RECOVERY_GRACE_MS = 10_000;
/** Quick retries in the request itself before the outcome is left to recovery. */
const INLINE_RETRY_DELAYS_MS = [50, 250];

export function requestHashOf(type: string, request: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify([type, request])).digest('hex');
}

/**
 * Runs a workflow the way DESIGN.md says: record the transaction PENDING under the caller's idempotency key,
 * ask the user subgraph to apply its posting (same id, so a retry is harmless), then record COMPLETED or
 * FAILED with its events in one SQL transaction. The same key and request returns the first result.
 */
export async function runTransaction(deps: EngineDeps, input: NewTransaction, admit?: Admission): Promise<TransactionRow> {
  const { request, buildPosting, amount, ...columns } = input;
  const id = randomUUID();
  const requestHash = requestHashOf(columns.type, request);
  const insert = (db: TransactionDb | SqlTransaction) =>
    db
      .insert(transactions)
      .values({ ...columns, id, amount: String(amount), requestHash, posting: buildPosting(id), nextAttemptAt: new Date(Date.now() + RECOVERY_GRACE_MS) })
      .onConflictDoNothing({ target: [transactions.initiatorId, transactions.idempotencyKey] })
      .returning();
  // Read committed, said so: each statement of the admission sees what others committed while it waited for a lock.
  const inserted = admit
    ? await deps.db.transaction(
        async (tx) => {
          const rows = await insert(tx);
          if (rows[0]) await admit(tx, rows[0]);
          return rows;
        },
        { isolationLevel: 'read committed' },
      )
    : await insert(deps.db);
  const row = inserted[0] ?? (await existingFor(deps.db, columns.initiatorId, columns.idempotencyKey, requestHash));
  return drive(deps, row, INLINE_RETRY_DELAYS_MS);
}

/**
 * The first result for this caller's key, if the key was used before (driven to its outcome if still
 * pending), so a replay answers the same even when the request could no longer be made (an expired quote).
 */
export async function replayOf(deps: EngineDeps, initiatorId: string, idempotencyKey: string, type: string, request: Record<string, unknown>): Promise<TransactionRow | null> {
  const [existing] = await deps.db.select({ id: transactions.id }).from(transactions).where(and(eq(transactions.initiatorId, initiatorId), eq(transactions.idempotencyKey, idempotencyKey)));
  if (!existing) return null;
  return drive(deps, await existingFor(deps.db, initiatorId, idempotencyKey, requestHashOf(type, request)));
}

async function existingFor(db: TransactionDb, initiatorId: string, idempotencyKey: string, requestHash: string): Promise<TransactionRow> {
  const [existing] = await db.select().from(transactions).where(and(eq(transactions.initiatorId, initiatorId), eq(transactions.idempotencyKey, idempotencyKey)));
  if (!existing) throw new Error('idempotency conflict without a row');
  if (existing.requestHash !== requestHash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different request; use a new key for a new request');
  }
  return existing;
}

export type Outcome = { kind: 'applied' } | { kind: 'refused'; error: AppError } | { kind: 'unknown'; reason: string };

export async function applyPosting(deps: EngineDeps, posting: PostingRequest): Promise<Outcome> {
  try {
    await deps.users.call(postingCall, posting);
    return { kind: 'applied' };
  } catch (error) {
    if (error instanceof UpstreamUnavailable) return { kind: 'unknown', reason: String(error.cause) };
    if (error instanceof AppError) return { kind: 'refused', error };
    return { kind: 'unknown', reason: (error as Error).message };
  }
}

/**
 * Brings a PENDING transaction to its outcome if the user subgraph answers; otherwise leaves it PENDING for
 * the recovery loop. A posting whose outcome is unknown is never marked FAILED: it may have been applied.
 */
export async function drive(deps: EngineDeps, row: TransactionRow, retryDelaysMs: readonly number[] = []): Promise<TransactionRow> {
  if (row.status !== 'PENDING') return row;
  // A withdrawal whose mint was sent had its debit applied before: only the chain's answer is still wanted.
  if (row.type === 'WITHDRAWAL' && row.chainTransactionId) return sendWithdrawal(deps, row);
  let outcome = await applyPosting(deps, row.posting);
  for (const delayMs of retryDelaysMs) {
    if (outcome.kind !== 'unknown') break;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    outcome = await applyPosting(deps, row.posting);
  }
  if (outcome.kind === 'unknown') {
    deps.log.warn({ transactionId: row.id, reason: outcome.reason }, 'posting outcome unknown; left PENDING for recovery');
    return row;
  }
  // A withdrawal's debit is only its first step; the chain decides the outcome.
  if (outcome.kind === 'applied' && row.type === 'WITHDRAWAL') return sendWithdrawal(deps, row);
  return finish(deps, row, outcome);
}

export async function finish(deps: EngineDeps, row: TransactionRow, outcome: Exclude<Outcome, { kind: 'unknown' }>): Promise<TransactionRow> {
  return deps.db.transaction(async (tx) => {
    const completed = outcome.kind === 'applied';
    const [finished] = await tx
      .update(transactions)
      .set({
        status: completed ? 'COMPLETED' : 'FAILED',
        failureCode: completed ? null : outcome.error.code,
        failureMessage: completed ? null : outcome.error.message,
        completedAt: sql`now()`,
      })
      .where(and(eq(transactions.id, row.id), eq(transactions.status, 'PENDING')))
      .returning();
    // Someone else (the recovery loop, a retried request) finished it first: theirs is the outcome.
    if (!finished) return (await tx.select().from(transactions).where(eq(transactions.id, row.id)))[0] as TransactionRow;
    if (completed && finished.type === 'RETIREMENT' && finished.fromUserId) {
      await tx.insert(retirements).values({
        id: finished.id,
        userId: finished.fromUserId,
        amount: finished.amount,
        beneficiary: finished.details?.beneficiary ?? '',
        message: finished.details?.message ?? null,
        retiredAt: finished.completedAt ?? new Date(),
      });
    }
    await enqueueEvents(tx, [transactionStatusEvent(finished)]);
    return finished;
  });
}

export function transactionStatusEvent(row: TransactionRow) {
  const common = {
    transactionId: row.id,
    status: row.status,
    failureCode: row.failureCode,
    initiatorId: row.initiatorId,
    fromUserId: row.fromUserId,
    toUserId: row.toUserId,
    currency: row.currency,
    amount: formatAmount(BigInt(row.amount), row.currency),
    amountMinor: row.amount,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
  const details = row.details ?? {};
  switch (row.type) {
    case 'RETIREMENT':
      // What the blockchain subgraph writes on the certificate on chain.
      return createEnvelope('transaction.status', row.id, { ...common, type: row.type, retirement: { beneficiary: details.beneficiary ?? '', message: details.message ?? null } });
    case 'WITHDRAWAL':
      return createEnvelope('transaction.status', row.id, { ...common, type: row.type, toAddress: row.toAddress ?? '', chainTransactionId: row.chainTransactionId, txHash: details.txHash ?? null });
    case 'DEPOSIT':
      return createEnvelope('transaction.status', row.id, { ...common, type: row.type, ...(details.chainDeposit ? { chainDeposit: details.chainDeposit } : {}) });
    default:
      return createEnvelope('transaction.status', row.id, { ...common, type: row.type });
  }
}

/** What the caller sees: the transaction, or for a refused one the refusal itself (the same on every replay). */
export function resultOf(row: TransactionRow): TransactionRow {
  if (row.status === 'FAILED') {
    throw new AppError((row.failureCode ?? 'INTERNAL') as AppError['code'], row.failureMessage ?? 'The transaction failed', { transactionId: row.id });
  }
  return row;
}
