import { inArray, sql } from 'drizzle-orm';
import { backoffDelayMs } from '../../../../lib/backoff.js';
import { type PeriodicTask, startPeriodic } from '../../../../lib/server/periodic.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import type { TransactionDeps } from '../deps.js';
import { drive } from './engine.js';
import type { Workflow } from './workflow.js';

/** The wait after a transaction's first unfinished attempt; it doubles with each further one, up to retryDelayMaxMs. */
const RECOVERY_RETRY_BASE_MS = 1_000;

export interface RecoveryOptions {
  intervalMs: number;
  /** Transactions claimed per pass. */
  batchSizeMax: number;
  /** How long a claim holds before another instance may take the transaction over. */
  leaseMs: number;
  /** Longest wait between two attempts at one transaction. */
  retryDelayMaxMs: number;
}

/** Each stored transaction's workflow, found by the kind of its posting; two workflows of one kind are a bug. */
function byPostingKind(workflows: readonly Workflow[]): Map<string, Workflow> {
  const table = new Map(workflows.map((workflow) => [workflow.kind, workflow]));
  if (table.size !== workflows.length) throw new Error('two workflows write the same kind of posting');
  return table;
}

/**
 * Finishes transactions left PENDING (a crash between recording and applying, or a user subgraph that did
 * not answer). Each pass claims a bounded batch with a lease (`for update skip locked`, so instances never
 * work on the same row) and drives each through its workflow (the posting is idempotent by id). A transaction
 * still PENDING is tried again when its workflow says, or else after a wait that doubles with each attempt,
 * up to `retryDelayMaxMs`.
 */
export function startRecovery(deps: TransactionDeps, workflows: readonly Workflow[], options: RecoveryOptions): PeriodicTask<number> {
  const workflowOf = byPostingKind(workflows);

  function claim(): Promise<TransactionRow[]> {
    const due = sql`(select id from ${transactions} where status = 'PENDING' and next_attempt_at <= now()
                     order by next_attempt_at limit ${options.batchSizeMax} for update skip locked)`;
    return deps.db
      .update(transactions)
      .set({ attempts: sql`${transactions.attempts} + 1`, nextAttemptAt: sql`now() + make_interval(secs => ${options.leaseMs / 1000})` })
      .where(inArray(transactions.id, due))
      .returning();
  }

  async function pass(stopped: () => boolean): Promise<number> {
    const claimed = await claim();
    for (const row of claimed) {
      if (stopped()) break;
      const workflow = workflowOf.get(row.posting.kind);
      // A kind this build does not know (written by a newer one): its lease runs out and an instance that knows it takes it.
      if (!workflow) {
        deps.log.error({ transactionId: row.id, kind: row.posting.kind }, 'no workflow for this pending transaction; left PENDING');
        continue;
      }
      const pendingWaitMs = backoffDelayMs(row.attempts, { baseMs: RECOVERY_RETRY_BASE_MS, maxMs: options.retryDelayMaxMs });
      await drive(deps, workflow, row, { pendingWaitMs });
    }
    if (claimed.length) deps.log.info({ recovered: claimed.length }, 'recovery pass finished pending transactions');
    return claimed.length;
  }

  return startPeriodic({ what: 'recovery pass', intervalMs: options.intervalMs, log: deps.log, pass });
}
