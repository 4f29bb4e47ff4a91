/**
 * An async iterator fed by pushes, for subscriptions. Unlike an async generator waiting on a promise, its
 * `return()` takes effect at once: graphql-ws calls it when a client leaves, and the subscriber's resources must
 * go then, not at the next event (which, for a personal feed, may never come).
 */
export interface PushQueue<Item> extends AsyncIterableIterator<Item> {
  /** Queues an item; past `lengthMax` waiting items the queue fails with `overflow()` instead. */
  push(item: Item): void;
  /** Ends the iteration with an error, after the items already queued. */
  fail(error: Error): void;
  /** Ends the iteration, after the items already queued. */
  end(): void;
}

export function createPushQueue<Item>(options: { lengthMax: number; overflow: () => Error; onClose: () => void }): PushQueue<Item> {
  const items: Item[] = [];
  let waiter: { resolve: (result: IteratorResult<Item>) => void; reject: (error: Error) => void } | null = null;
  let failure: Error | null = null;
  let ended = false;
  let closed = false;

  function close() {
    if (closed) return;
    closed = true;
    items.length = 0;
    options.onClose();
  }

  function settle() {
    if (!waiter) return;
    const current = waiter;
    const item = items.shift();
    if (item !== undefined) {
      waiter = null;
      current.resolve({ value: item, done: false });
    } else if (failure) {
      waiter = null;
      const error = failure;
      close();
      current.reject(error);
    } else if (ended || closed) {
      waiter = null;
      close();
      current.resolve({ value: undefined, done: true });
    }
  }

  const queue: PushQueue<Item> = {
    push(item) {
      if (closed || ended || failure) return;
      if (items.length >= options.lengthMax) return queue.fail(options.overflow());
      items.push(item);
      settle();
    },
    fail(error) {
      if (closed || failure) return;
      failure = error;
      settle();
    },
    end() {
      ended = true;
      settle();
    },
    next() {
      return new Promise<IteratorResult<Item>>((resolve, reject) => {
        waiter = { resolve, reject };
        settle();
      });
    },
    async return() {
      const pending = waiter;
      waiter = null;
      close();
      pending?.resolve({ value: undefined, done: true });
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
