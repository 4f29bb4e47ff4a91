import type { Logger } from '../../../../lib/log.js';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import { PRICE_SYMBOLS, type PriceSource } from '../sources/source.js';
import { claimPoll, hasHistory, type PriceDb, pruneOlderThan, recordHistory, recordObservations } from './store.js';

export interface PollerOptions {
  db: PriceDb;
  source: PriceSource;
  log: Logger;
  intervalMs: number;
  /** On a first start (no history for a symbol), this many days of history are backfilled from the source. */
  backfillDays: number;
  retentionDays: number;
}

const PRUNE_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * Polls the source on a fixed interval (never two polls at once), stores what is new and valid, and
 * publishes changes through the outbox. A failed poll is logged with its reason and the last good price stays.
 * Every instance runs it; a pass asks the source only when it claims the interval in the database
 * (`claimPoll`), so the source is asked once per interval however many instances run, and the instance that
 * claims first backfills. Pruning is a bounded delete of old rows: two instances pruning at once delete each
 * row once, so it needs no claim.
 */
export function startPricePoller(options: PollerOptions): BackgroundTask {
  const { db, source, log } = options;
  async function pollOnce() {
    try {
      const stored = await recordObservations(db, await source.latest());
      if (stored.length) log.debug({ stored: stored.map((observation) => `${observation.symbol}=${observation.value}`) }, 'prices stored');
    } catch (error) {
      log.warn({ reason: (error as Error).message, source: source.name }, 'price poll failed; keeping the last good price');
    }
  }

  async function backfill(stopped: () => boolean) {
    const now = new Date();
    for (const symbol of PRICE_SYMBOLS) {
      // Inside the try: a database that is down at start costs the backfill, never the poller after it.
      try {
        if (stopped() || (await hasHistory(db, symbol))) continue;
        const stored = await recordHistory(db, await source.history(symbol, new Date(now.getTime() - options.backfillDays * DAY_MS), now));
        log.info({ symbol, stored, source: source.name }, 'price history backfilled');
      } catch (error) {
        log.warn({ symbol, reason: (error as Error).message }, 'price history backfill failed');
      }
    }
  }

  let backfilled = false;
  const poller = startPeriodic({
    what: 'price poll',
    intervalMs: options.intervalMs,
    firstDelayMs: 0,
    log,
    async pass(stopped) {
      if (!(await claimPoll(db, source.name, options.intervalMs))) return;
      if (!backfilled) await backfill(stopped);
      backfilled = true;
      await pollOnce();
    },
  });
  const prune = startPeriodic({
    what: 'price prune',
    intervalMs: PRUNE_INTERVAL_MS,
    log,
    pass: () => pruneOlderThan(db, new Date(Date.now() - options.retentionDays * DAY_MS)),
  });
  return {
    async stop() {
      await Promise.all([poller.stop(), prune.stop()]);
    },
  };
}
