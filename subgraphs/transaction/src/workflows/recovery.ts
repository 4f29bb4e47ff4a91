import { and, eq, inArray, sql } from 'drizzle-orm';
import { type PeriodicTask, startPeriodic } from '../../../../lib/server/periodic.js';
import { type TransactionRow, transactions } from '../db/schema.js';
import { drive, type EngineDeps } from './engine.js';

export interface RecoveryOptions {
  intervalMs: number;
  /** Transactions claimed per pass. */
  batchSizeMax: number;
  /** How long a claim holds before another instance may take the transaction over. */
  leaseMs: number;
  /** Longest wait between two attempts at one transaction. */
  retryDelayMaxMs: number;
}

/**
 * Finishes transactions left PENDING (a crash between recording and applying, or a user subgraph that did
 * not answer). Each pass claims a bounded batch with a lease (`for update skip locked`, so instances never
 * work on the same row), re-applies each posting (idempotent by id) and records the outcome. A transaction
 * whose posting still gets no answer waits longer each time, up to `retryDelayMaxMs`.
 */
export function startRecovery(deps: EngineDeps, options: RecoveryOptions): PeriodicTask<number> {
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
      const after = await drive(deps, row);
      if (after.status === 'PENDING') {
        const delayMs = Math.min(options.retryDelayMaxMs, 1000 * 2 ** Math.min(row.attempts, 10));
        await deps.db
          .update(transactions)
          .set({ nextAttemptAt: sql`now() + make_interval(secs => ${delayMs / 1000})` })
          .where(and(eq(transactions.id, row.id), eq(transactions.status, 'PENDING')));
      }
    }
    if (claimed.length) deps.log.info({ recovered: claimed.length }, 'recovery pass finished pending transactions');
    return claimed.length;
  }

  return startPeriodic({ what: 'recovery pass', intervalMs: options.intervalMs, log: deps.log, pass });
}
