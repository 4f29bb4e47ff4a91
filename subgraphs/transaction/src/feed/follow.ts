import { AppError } from '../../../../lib/errors.js';
import type { FeedEntry } from './entries.js';

/** Entries per read: a subscriber far behind is replayed a batch at a time, each read once the last batch was taken. */
export const FEED_BATCH_SIZE = 100;
/** A read even without a live event, in case one was lost on its way (the relay behind, a broker away). */
export const FEED_SAFETY_TICK_MS = 5_000;

export interface FollowOptions {
  /** The entries after a number, oldest first, at most `limit`. */
  read(afterSeq: number, limit: number): Promise<FeedEntry[]>;
  afterSeq: number;
  /** Live events about the user: each only wakes the reader, which then reads what follows the last entry it gave. */
  wakes: AsyncIterableIterator<unknown>;
  tickMs?: number;
}

/**
 * A user's feed entries after `afterSeq`, in order, each exactly once: everything is read from the table by
 * number, so a live event delivered twice, late or never changes nothing but when the next read happens. Pulled:
 * one read at a time, and only when the consumer has taken the last batch. It ends when the live events end
 * (the service is stopping); `return()` takes effect at once, even while it waits for a wake.
 */
export function followFeed(options: FollowOptions): AsyncIterableIterator<FeedEntry> {
  const tickMs = options.tickMs ?? FEED_SAFETY_TICK_MS;
  let lastSeq = options.afterSeq;
  let batch: FeedEntry[] = [];
  let woken = true;
  let closed = false;
  let wake: (() => void) | null = null;

  const wakeUp = () => {
    woken = true;
    wake?.();
  };
  void (async () => {
    try {
      for await (const _event of options.wakes) wakeUp();
    } catch {
      // Failed (a listener too far behind, which draining each wake at once prevents) or ended: either way this
      // feed ends, and its client resumes from its last cursor on a feed that listens again.
    }
    closed = true;
    wakeUp();
  })();

  function sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, tickMs);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function readNext(): Promise<void> {
    // Cleared before the read: a change committed during it wakes the next one.
    woken = false;
    const entries = await options.read(lastSeq, FEED_BATCH_SIZE);
    // Numbers have no gaps per user, and only the oldest entries are deleted: a gap is a cursor that outlived them.
    if (entries[0] && entries[0].seq !== lastSeq + 1) throw cursorExpired();
    batch = entries;
    lastSeq = entries.at(-1)?.seq ?? lastSeq;
    if (entries.length === FEED_BATCH_SIZE) woken = true;
  }

  const iterator: AsyncIterableIterator<FeedEntry> = {
    async next() {
      while (!closed) {
        const entry = batch.shift();
        if (entry) return { value: entry, done: false };
        if (!woken) await sleep();
        if (closed) break;
        try {
          await readNext();
        } catch (error) {
          await iterator.return?.();
          throw error;
        }
      }
      return { value: undefined, done: true };
    },
    async return() {
      closed = true;
      wake?.();
      await options.wakes.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export const cursorExpired = () =>
  new AppError('CURSOR_EXPIRED', 'The changes after this cursor are no longer kept: read your transactions again, then subscribe without `after`', { field: 'after' });
