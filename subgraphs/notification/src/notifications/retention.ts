import { sql } from 'drizzle-orm';
import type { Logger } from '../../../../lib/log.js';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import type { NotificationDb } from './store.js';

const PRUNE_INTERVAL_MS = 60 * 60_000;
/** Rows deleted per table per pass, so one pass never holds locks for long. */
const PRUNE_DELETE_MAX = 10_000;

/**
 * Deletes notifications older than the retention (their deliveries and attempts go with them), and finished
 * deliveries older than it whose notification is still kept. Hourly, bounded per pass. Every instance runs it,
 * unclaimed: the deletes are idempotent (two at once delete each row once, the second waiting on the first's
 * row locks), so more instances only mean more passes that find nothing.
 */
export function startRetention(options: { db: NotificationDb; log: Logger; retentionDays: number }): BackgroundTask {
  const cutoff = sql`now() - make_interval(days => ${options.retentionDays})`;
  const prune = async () => {
    await options.db.execute(sql`
      delete from notifications where id in (select id from notifications where created_at < ${cutoff} limit ${PRUNE_DELETE_MAX})`);
    await options.db.execute(sql`
      delete from webhook_deliveries where id in (
        select id from webhook_deliveries where status <> 'PENDING' and completed_at < ${cutoff} limit ${PRUNE_DELETE_MAX})`);
  };
  return startPeriodic({ what: 'notification retention pass', intervalMs: PRUNE_INTERVAL_MS, firstDelayMs: 0, log: options.log, pass: prune });
}
