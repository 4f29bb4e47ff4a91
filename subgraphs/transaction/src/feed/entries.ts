import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Logger } from '../../../../lib/log.js';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import type { SqlTransaction, TransactionDb } from '../db/database.js';
import { type TransactionRow, transactionFeed, transactionFeedHeads, transactions } from '../db/schema.js';
import { partyUserIds } from '../reads/history.js';

/** How long feed entries are kept: a cursor older than this is refused with CURSOR_EXPIRED. */
export const FEED_RETENTION_DAYS = 7;
const PRUNE_INTERVAL_MS = 60 * 60_000;
/** Entries deleted per pass, so one pass never holds locks for long. */
const PRUNE_DELETE_MAX = 10_000;

export interface FeedEntry {
  seq: number;
  status: TransactionRow['status'];
  transaction: TransactionRow;
}

/**
 * Appends one feed entry per party of `row` who may see it in its new status, in the caller's SQL transaction
 * (the one that changed the status). Each user's next number comes from an upsert of their head row, whose lock
 * is held to commit: per user, numbers are handed out and committed in the same order, with no gap.
 */
export async function appendFeedEntries(tx: SqlTransaction, row: TransactionRow): Promise<void> {
  // In id order, so two transactions with the same parties lock their heads in the same order (no deadlock).
  const userIds = partyUserIds(row).sort();
  if (userIds.length === 0) return;
  const heads = tx
    .insert(transactionFeedHeads)
    .values(userIds.map((userId) => ({ userId, seq: 1 })))
    .onConflictDoUpdate({ target: transactionFeedHeads.userId, set: { seq: sql`${transactionFeedHeads.seq} + 1` } })
    .returning({ userId: transactionFeedHeads.userId, seq: transactionFeedHeads.seq });
  // One statement, one round trip: each party's head moves on and its entry takes the new number.
  await tx.execute(sql`with heads as (${heads.getSQL()})
    insert into ${transactionFeed} (user_id, seq, transaction_id, status)
    select heads.user_id, heads.seq, ${row.id}::uuid, ${row.status}::transaction_status from heads`);
}

/** The entries of `userId` after `afterSeq`, oldest first, at most `limit`, each with its transaction as it is now. */
export async function feedEntriesAfter(db: TransactionDb, userId: string, afterSeq: number, limit: number): Promise<FeedEntry[]> {
  return db
    .select({ seq: transactionFeed.seq, status: transactionFeed.status, transaction: transactions })
    .from(transactionFeed)
    .innerJoin(transactions, eq(transactions.id, transactionFeed.transactionId))
    .where(and(eq(transactionFeed.userId, userId), gt(transactionFeed.seq, afterSeq)))
    .orderBy(asc(transactionFeed.seq))
    .limit(limit);
}

/** The number of the user's latest entry, 0 before their first. */
export async function feedHeadOf(db: TransactionDb, userId: string): Promise<number> {
  const [head] = await db.select({ seq: transactionFeedHeads.seq }).from(transactionFeedHeads).where(eq(transactionFeedHeads.userId, userId));
  return head?.seq ?? 0;
}

/** The number of the user's first entry still kept after `afterSeq`, or null when none is. */
export async function firstKeptAfter(db: TransactionDb, userId: string, afterSeq: number): Promise<number | null> {
  const [entry] = await db
    .select({ seq: transactionFeed.seq })
    .from(transactionFeed)
    .where(and(eq(transactionFeed.userId, userId), gt(transactionFeed.seq, afterSeq)))
    .orderBy(asc(transactionFeed.seq))
    .limit(1);
  return entry?.seq ?? null;
}

/** Deletes entries older than `retentionDays`, a bounded number per call; heads stay, so numbers never repeat. */
export async function pruneFeed(db: TransactionDb, retentionDays = FEED_RETENTION_DAYS): Promise<void> {
  await db.execute(sql`
    delete from transaction_feed where (user_id, seq) in (
      select user_id, seq from transaction_feed where created_at < now() - make_interval(days => ${retentionDays}) limit ${PRUNE_DELETE_MAX})`);
}

/** Hourly, bounded per pass; every instance may run it, a delete twice deletes nothing more. */
export function startFeedRetention(options: { db: TransactionDb; log: Logger }): BackgroundTask {
  return startPeriodic({ what: 'transaction feed retention pass', intervalMs: PRUNE_INTERVAL_MS, firstDelayMs: 0, log: options.log, pass: () => pruneFeed(options.db) });
}
