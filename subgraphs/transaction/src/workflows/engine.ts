import { createHash, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { AppError } from '../../../../lib/errors.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import { UpstreamUnavailable } from '../../../../lib/internal-client.js';
import { type PostingRequest, postingCall } from '../../../../lib/ledger/posting.js';
import { formatAmount } from '../../../../lib/money.js';
import type { SqlTransaction, TransactionDb } from '../db/database.js';
import { appendFeedEntries } from '../feed/entries.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import type { NewTransaction, Outcome, StatusCommon, Workflow } from './workflow.js';

/**
 * A check that needs the database to decide (a total per day): it runs in the same SQL transaction as the new
 * PENDING row, after the insert, so it sees that row; throwing refuses the request and rolls the row back.
 * It does not run for a replay of a key already used.
 */
export type Admission = (tx: SqlTransaction, row: TransactionRow) => Promise<void>;

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
export async function runTransaction(deps: TransactionDeps, workflow: Workflow, input: NewTransaction, admit?: Admission): Promise<TransactionRow> {
  const { request, amount, ...columns } = input;
  const id = randomUUID();
  const requestHash = requestHashOf(workflow.type, request);
  const posting: PostingRequest = { id, kind: workflow.kind, entries: workflow.entries(input) };
  const insert = (db: TransactionDb | SqlTransaction) =>
    db
      .insert(transactions)
      .values({ ...columns, id, type: workflow.type, amount: String(amount), requestHash, posting, nextAttemptAt: new Date(Date.now() + RECOVERY_GRACE_MS) })
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
  return drive(deps, workflow, row, { retryDelaysMs: INLINE_RETRY_DELAYS_MS });
}

/**
 * The first result for this caller's key, if the key was used before (driven to its outcome if still
 * pending), so a replay answers the same even when the request could no longer be made (an expired quote).
 */
export async function replayOf(deps: TransactionDeps, workflow: Workflow, initiatorId: string, idempotencyKey: string, request: Record<string, unknown>): Promise<TransactionRow | null> {
  const [existing] = await deps.db.select({ id: transactions.id }).from(transactions).where(and(eq(transactions.initiatorId, initiatorId), eq(transactions.idempotencyKey, idempotencyKey)));
  if (!existing) return null;
  return drive(deps, workflow, await existingFor(deps.db, initiatorId, idempotencyKey, requestHashOf(workflow.type, request)));
}

async function existingFor(db: TransactionDb, initiatorId: string, idempotencyKey: string, requestHash: string): Promise<TransactionRow> {
  const [existing] = await db.select().from(transactions).where(and(eq(transactions.initiatorId, initiatorId), eq(transactions.idempotencyKey, idempotencyKey)));
  if (!existing) throw new Error('idempotency conflict without a row');
  if (existing.requestHash !== requestHash) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different request; use a new key for a new request');
  }
  return existing;
}

export type PostingOutcome = { kind: 'applied' } | { kind: 'refused'; error: AppError } | { kind: 'unknown'; reason: string };

export async function applyPosting(deps: TransactionDeps, posting: PostingRequest): Promise<PostingOutcome> {
  try {
    await deps.users.call(postingCall, posting);
    return { kind: 'applied' };
  } catch (error) {
    if (error instanceof UpstreamUnavailable) return { kind: 'unknown', reason: String(error.cause) };
    if (error instanceof AppError) return { kind: 'refused', error };
    return { kind: 'unknown', reason: (error as Error).message };
  }
}

export interface DriveOptions {
  /** Quick retries of a posting whose outcome is unknown, before giving up for now. */
  retryDelaysMs?: readonly number[];
  /** When to try again a transaction left PENDING, unless its workflow says; unset leaves its next attempt as it is. */
  pendingWaitMs?: number;
}

/**
 * Brings a PENDING transaction to its outcome if the user subgraph (and what the workflow does after the
 * posting) answers; otherwise leaves it PENDING and schedules its next attempt. A posting whose outcome is
 * unknown is never marked FAILED: it may have been applied.
 */
export async function drive(deps: TransactionDeps, workflow: Workflow, row: TransactionRow, options: DriveOptions = {}): Promise<TransactionRow> {
  if (row.status !== 'PENDING') return row;
  const outcome = await settle(deps, workflow, row, options.retryDelaysMs ?? []);
  if (outcome.kind !== 'waiting') return finish(deps, workflow, row, outcome);
  const waitMs = outcome.waitMs ?? options.pendingWaitMs;
  if (waitMs !== undefined) await scheduleNextAttempt(deps, row.id, waitMs);
  return outcome.row;
}

async function settle(deps: TransactionDeps, workflow: Workflow, row: TransactionRow, retryDelaysMs: readonly number[]): Promise<Outcome> {
  if (!workflow.postingApplied?.(row)) {
    let posted = await applyPosting(deps, row.posting);
    for (const delayMs of retryDelaysMs) {
      if (posted.kind !== 'unknown') break;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      posted = await applyPosting(deps, row.posting);
    }
    if (posted.kind === 'unknown') {
      deps.log.warn({ transactionId: row.id, reason: posted.reason }, 'posting outcome unknown; left PENDING for recovery');
      return { kind: 'waiting', row };
    }
    if (posted.kind === 'refused') return posted;
  }
  return workflow.afterPosting ? workflow.afterPosting(deps, row) : { kind: 'applied' };
}

/** The one place a PENDING transaction's next attempt is set (the recovery loop claims it then). */
async function scheduleNextAttempt(deps: TransactionDeps, transactionId: string, waitMs: number): Promise<void> {
  await deps.db
    .update(transactions)
    .set({ nextAttemptAt: sql`now() + make_interval(secs => ${waitMs / 1000})` })
    .where(and(eq(transactions.id, transactionId), eq(transactions.status, 'PENDING')));
}

async function finish(deps: TransactionDeps, workflow: Workflow, row: TransactionRow, outcome: Exclude<Outcome, { kind: 'waiting' }>): Promise<TransactionRow> {
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
    if (completed) await workflow.onCompleted?.(tx, finished);
    await recordStatusChange(tx, workflow, finished);
    return finished;
  });
}

/**
 * The one way a change its parties see is recorded, in the SQL transaction that made it: the `transaction.status`
 * event in the outbox, and an entry in each party's feed (`transactionFeed`), so both commit or neither does.
 */
export async function recordStatusChange(tx: SqlTransaction, workflow: Workflow, row: TransactionRow): Promise<void> {
  await enqueueEvents(tx, [transactionStatusEvent(workflow, row)]);
  await appendFeedEntries(tx, row);
}

/** The `transaction.status` event of a transaction as it stands: the common fields and the workflow's own. */
export function transactionStatusEvent(workflow: Workflow, row: TransactionRow) {
  const common: StatusCommon = {
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
  return createEnvelope('transaction.status', row.id, { ...common, ...workflow.eventData(row) });
}

/** What the caller sees: the transaction, or for a refused one the refusal itself (the same on every replay). */
export function resultOf(row: TransactionRow): TransactionRow {
  if (row.status === 'FAILED') {
    throw new AppError((row.failureCode ?? 'INTERNAL') as AppError['code'], row.failureMessage ?? 'The transaction failed', { transactionId: row.id });
  }
  return row;
}
