import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { decimalToScaled } from '../../../../lib/decimal.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents } from '../../../../lib/events/outbox.js';
import type * as schema from '../db/schema.js';
import { type PriceRow, pricePolls, prices } from '../db/schema.js';
import type { Observation, PriceSourceName, PriceSymbol, QuoteCurrency } from '../sources/source.js';

export type PriceDb = PostgresJsDatabase<typeof schema>;

const HISTORY_INSERT_BATCH = 500;
const RETENTION_DELETE_MAX = 10_000;

const rowOf = (observation: Observation) => ({
  symbol: observation.symbol,
  vsCurrency: observation.vs,
  value: observation.value,
  source: observation.source,
  observedAt: observation.observedAt,
});

/** Same value whatever its trailing zeros ("0.85" and "0.850000000000000000"). */
const sameValue = (left: string, right: string) => decimalToScaled(left) === decimalToScaled(right);

/**
 * Stores new observations; an observation seen before is stored once. When a new observation is the latest
 * for its symbol and its value differs from the one before, `price.updated` goes to the outbox in the same
 * SQL transaction. Returns the observations that were new.
 */
export async function recordObservations(db: PriceDb, observations: readonly Observation[]): Promise<Observation[]> {
  return db.transaction(async (tx) => {
    const stored: Observation[] = [];
    for (const observation of observations) {
      const [previous] = await tx
        .select()
        .from(prices)
        .where(and(eq(prices.symbol, observation.symbol), eq(prices.vsCurrency, observation.vs)))
        .orderBy(desc(prices.observedAt))
        .limit(1);
      const inserted = await tx.insert(prices).values(rowOf(observation)).onConflictDoNothing().returning({ id: prices.id });
      if (inserted.length === 0) continue;
      stored.push(observation);
      const isLatest = !previous || observation.observedAt > previous.observedAt;
      if (isLatest && (!previous || !sameValue(previous.value, observation.value))) {
        await enqueueEvents(tx, [
          createEnvelope('price.updated', observation.symbol, {
            symbol: observation.symbol,
            vs: observation.vs,
            value: observation.value,
            source: observation.source,
            observedAt: observation.observedAt.toISOString(),
            previousValue: previous?.value ?? null,
          }),
        ]);
      }
    }
    return stored;
  });
}

/** Backfilled history: stored in batches, without events (it is the past, not an update). */
export async function recordHistory(db: PriceDb, observations: readonly Observation[]): Promise<number> {
  let stored = 0;
  for (let start = 0; start < observations.length; start += HISTORY_INSERT_BATCH) {
    const batch = observations.slice(start, start + HISTORY_INSERT_BATCH).map(rowOf);
    stored += (await db.insert(prices).values(batch).onConflictDoNothing().returning({ id: prices.id })).length;
  }
  return stored;
}

export async function latestPrice(db: PriceDb, symbol: PriceSymbol, vs: QuoteCurrency): Promise<PriceRow | null> {
  const [row] = await db
    .select()
    .from(prices)
    .where(and(eq(prices.symbol, symbol), eq(prices.vsCurrency, vs)))
    .orderBy(desc(prices.observedAt))
    .limit(1);
  return row ?? null;
}

export async function hasHistory(db: PriceDb, symbol: PriceSymbol): Promise<boolean> {
  const [row] = await db.select({ one: sql<number>`1` }).from(prices).where(eq(prices.symbol, symbol)).limit(1);
  return row !== undefined;
}

/** Deletes observations older than the retention, a bounded number per call. */
export async function pruneOlderThan(db: PriceDb, cutoff: Date): Promise<number> {
  const deleted = await db.execute(sql`
    delete from ${prices} where ${prices.id} in (
      select ${prices.id} from ${prices} where ${lt(prices.observedAt, cutoff)} limit ${RETENTION_DELETE_MAX})`);
  return deleted.count ?? 0;
}

/** How early in the interval a claim may come: a timer that fires a little early must not cost a whole interval. */
const POLL_CLAIM_EARLY_FRACTION = 0.1;

/**
 * Claims this interval's poll of `source`: true for one caller per `intervalMs` (less a tenth) across every
 * instance. One statement: a second caller waits on the row the first one moved, then finds it polled too recently.
 */
export async function claimPoll(db: PriceDb, source: PriceSourceName, intervalMs: number): Promise<boolean> {
  const claimed = await db
    .insert(pricePolls)
    .values({ source, polledAt: sql`now()` })
    .onConflictDoUpdate({ target: pricePolls.source, set: { polledAt: sql`now()` }, setWhere: sql`${pricePolls.polledAt} <= now() - make_interval(secs => ${(intervalMs * (1 - POLL_CLAIM_EARLY_FRACTION)) / 1000})` })
    .returning({ source: pricePolls.source });
  return claimed.length > 0;
}
