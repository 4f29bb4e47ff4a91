/**
 * Work that identical callers in flight at the same moment share: the first caller of a key starts it, and every
 * caller of that key until it settles gets the same promise. The entry goes as the work settles, so a later caller
 * starts afresh: this keeps nothing for later, it is no cache. The map holds at most one entry per piece of work in
 * flight, and each lives no longer than its work (a subgraph fetch: SUBGRAPH_TIMEOUT_MS).
 */
export class InFlight<Value> {
  readonly #pending = new Map<string, Promise<Value>>();

  /** @param onJoin told each time a caller gets work already in flight instead of starting its own */
  constructor(private readonly onJoin: () => void = () => {}) {}

  share(key: string, start: () => Promise<Value>): Promise<Value> {
    const pending = this.#pending.get(key);
    if (pending) {
      this.onJoin();
      return pending;
    }
    // `started` settles only after the removal, so whoever has seen the answer can never join this entry again.
    const started = start().finally(() => this.#pending.delete(key));
    this.#pending.set(key, started);
    return started;
  }
}
