import DataLoader from 'dataloader';
import type { Identity } from '../auth/identity.js';
import { isUuid } from '../ids.js';

/**
 * The most ids one statement reads: a bigger fetch (a ledger snapshot's 10,000 owners) is read in several.
 * Far below PostgreSQL's 65,535 bind parameters, and a size one index scan answers quickly.
 */
export const BATCH_IDS_MAX = 1_000;

/** Reads the rows of `ids` (distinct, lower-case UUIDs) that `identity` may see, in one statement. */
export type BatchRead<Row> = (ids: string[], identity: Identity | null) => Promise<readonly Row[]>;

/**
 * A read that resolvers share, defined once per service (it closes over the database) and run through each
 * request's `RequestLoaders`: every id asked for in the same tick, e.g. all representations of one `_entities`
 * fetch or one field of every row of a list, is read with one statement. The visibility rule lives in `read`.
 */
export class BatchedRead<Row> {
  constructor(
    readonly read: BatchRead<Row>,
    /** The UUID column the ids are matched on (PostgreSQL answers UUIDs in lower case). */
    readonly keyOf: (row: Row) => string,
  ) {}

  /** Every row of `id` the caller may see; none for an id that is not a UUID, which never reaches SQL. */
  all(loaders: RequestLoaders, id: unknown): Promise<Row[]> {
    return isUuid(id) ? loaders.loaderFor(this).load(id.toLowerCase()) : Promise.resolve([]);
  }

  /** The row of `id`, or null when it does not exist or the caller may not see it: for reads by primary key. */
  async one(loaders: RequestLoaders, id: unknown): Promise<Row | null> {
    return (await this.all(loaders, id))[0] ?? null;
  }
}

/**
 * One request's loaders, made with its context, so that no answer ever reaches another caller: what a read
 * returns depends on who asks. Loaders cache nothing past their batch: a subscription keeps one context for all
 * its events and each event must read the row as it is now, and a mutation may change what a later field reads.
 * Duplicates within a batch are read once all the same (the read gets distinct ids).
 */
export class RequestLoaders {
  readonly #loaders = new Map<BatchedRead<unknown>, DataLoader<string, unknown[]>>();

  constructor(readonly identity: Identity | null) {}

  loaderFor<Row>(batched: BatchedRead<Row>): DataLoader<string, Row[]> {
    let loader = this.#loaders.get(batched as BatchedRead<unknown>) as DataLoader<string, Row[]> | undefined;
    if (!loader) {
      loader = new DataLoader<string, Row[]>((ids) => this.#readBatch(batched, ids), { cache: false, maxBatchSize: BATCH_IDS_MAX });
      this.#loaders.set(batched as BatchedRead<unknown>, loader as DataLoader<string, unknown[]>);
    }
    return loader;
  }

  async #readBatch<Row>(batched: BatchedRead<Row>, ids: readonly string[]): Promise<Row[][]> {
    const rows = await batched.read([...new Set(ids)], this.identity);
    const rowsOf = new Map<string, Row[]>();
    for (const row of rows) {
      const key = batched.keyOf(row);
      rowsOf.set(key, [...(rowsOf.get(key) ?? []), row]);
    }
    return ids.map((id) => rowsOf.get(id) ?? []);
  }
}
