import { sql } from 'drizzle-orm';
import { type Backoff, backoffDelayMs } from '../backoff.js';
import type { SqlExecutor } from '../db.js';
import type { Logger } from '../log.js';

export interface PeriodicOptions<Result> {
  /** Named in the warning a failed pass logs. */
  what: string;
  intervalMs: number;
  /** Before the first pass; the interval by default. */
  firstDelayMs?: number;
  log: Logger;
  /** One pass; `stopped()` turns true when the task is stopping, so a long pass can end early. */
  pass(stopped: () => boolean): Promise<Result>;
  /**
   * One instance at a time across processes: each pass holds this transaction-scoped advisory lock in `db`, and
   * an instance that cannot take it skips its pass (answering `skipped`).
   */
  exclusive?: { db: SqlExecutor; lock: string; skipped: Result };
  /** The wait after the first failed pass, doubling per failure: by default twice the interval, up to `PERIODIC_RETRY_DELAY_MAX_MS`. */
  retry?: Backoff;
}

/** A BackgroundTask (lib/server/service.ts) that can also be run or woken at once. */
export interface PeriodicTask<Result> {
  /** One pass now, after any pass under way (tests, and callers that need the effect at once). */
  runOnce(): Promise<Result>;
  /**
   * A pass now instead of at the next interval (e.g. on a PostgreSQL notification), or right after the pass under
   * way when one is running, so that work committed during a pass is not left for the interval.
   */
  wake(): void;
  /** Waits for the pass under way; no pass starts after. */
  stop(): Promise<void>;
}

/**
 * How far consecutive failures (e.g. the database is down) stretch the wait before the next pass: it doubles
 * per failure up to this, or to the interval when that is longer. One success restores the interval.
 */
export const PERIODIC_RETRY_DELAY_MAX_MS = 10_000;

/** The wait before the next pass after `failures` failed passes in a row. */
export function retryDelayMs(intervalMs: number, failures: number, retry: Backoff = defaultRetry(intervalMs)): number {
  return failures === 0 ? intervalMs : backoffDelayMs(failures - 1, retry);
}

function defaultRetry(intervalMs: number): Backoff {
  return { baseMs: 2 * intervalMs, maxMs: Math.max(intervalMs, PERIODIC_RETRY_DELAY_MAX_MS) };
}

/**
 * A pass every `intervalMs`, never two at once: the next is scheduled when the previous ends, a failed pass is
 * logged and retried with back-off (`retryDelayMs`), `wake()` brings a pass forward, and `stop()` waits for the
 * pass under way. Timers do not hold the process open.
 */
export function startPeriodic<Result>(options: PeriodicOptions<Result>): PeriodicTask<Result> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let inPass = false;
  let wakeAgain = false;
  const isStopped = () => stopped;
  const retry = options.retry ?? defaultRetry(options.intervalMs);

  const { exclusive } = options;
  const passOnce = (): Promise<Result> =>
    exclusive
      ? exclusive.db.transaction(async (tx) => {
          const [row] = (await tx.execute(sql`select pg_try_advisory_xact_lock(hashtext(${exclusive.lock})) as locked`)) as unknown as { locked: boolean }[];
          return row?.locked ? options.pass(isStopped) : exclusive.skipped;
        })
      : options.pass(isStopped);

  const runOnce = (): Promise<Result> => {
    const pass = running.catch(() => {}).then(passOnce);
    running = pass.catch(() => {});
    return pass;
  };

  function tick() {
    clearTimeout(timer);
    inPass = true;
    wakeAgain = false;
    runOnce()
      .then(
        () => void (failures = 0),
        (error: unknown) => {
          failures += 1;
          options.log.warn({ err: error instanceof Error ? error.message : String(error), failures }, `${options.what} failed; will retry`);
        },
      )
      .finally(() => {
        inPass = false;
        if (wakeAgain && failures === 0 && !stopped) tick();
        else schedule(retryDelayMs(options.intervalMs, failures, retry));
      });
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, delayMs);
    timer.unref();
  }
  schedule(options.firstDelayMs ?? options.intervalMs);

  return {
    runOnce,
    wake() {
      if (stopped) return;
      if (inPass) wakeAgain = true;
      else tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
