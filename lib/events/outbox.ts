import { sql } from 'drizzle-orm';
import type postgres from 'postgres';
import type { SqlExecutor } from '../db.js';
import type { Logger } from '../log.js';
import { currentRequestId } from '../request-id.js';
import { startPeriodic } from '../server/periodic.js';
import { checkProducedEvent, type ProducedEvent } from './contracts/index.js';
import type { Envelope } from './envelope.js';
import { outbox, processedEvents } from './tables.js';
import type { EventTransport } from './transport.js';

export type { SqlExecutor };

export const OUTBOX_CHANNEL = 'ecocoin_outbox';

/**
 * Writes events in the caller's SQL transaction; they are published only if it commits, with the id of the
 * request being served (if any) in their Kafka headers. Each is checked against its contract first: data
 * that breaks it throws (a producer's bug), and the caller's transaction rolls back with it.
 */
export async function enqueueEvents(tx: SqlExecutor, envelopes: readonly ProducedEvent[]): Promise<void> {
  if (envelopes.length === 0) return;
  for (const envelope of envelopes) checkProducedEvent(envelope);
  const requestId = currentRequestId() ?? null;
  const insert = tx.insert(outbox).values(envelopes.map((envelope) => ({ id: envelope.id, topic: envelope.type, key: envelope.key, envelope, requestId })));
  // The notification is delivered at commit only, so the relay wakes at once instead of at its next poll. One
  // statement, one round trip: PostgreSQL runs a data-modifying WITH whether or not the select reads it.
  await tx.execute(sql`with inserted as (${insert.getSQL()}) select pg_notify(${OUTBOX_CHANNEL}, '')`);
}

/**
 * Stores the event id as applied by `consumer` and runs `effect` in the same SQL transaction.
 * Returns false, running nothing, when this consumer has applied the event before.
 */
export async function applyOnce(db: SqlExecutor, consumer: string, envelope: Envelope, effect: (tx: SqlExecutor) => Promise<void>): Promise<boolean> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(processedEvents)
      .values({ consumer, eventId: envelope.id })
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    if (inserted.length === 0) return false;
    await effect(tx);
    return true;
  });
}

export interface OutboxRelayOptions {
  sql: postgres.Sql;
  transport: EventTransport;
  log: Logger;
  batchSizeMax?: number;
  /** Fallback poll when a notification is missed (e.g. the listen connection dropped). */
  pollIntervalMs?: number;
  retryDelayMaxMs?: number;
  /** Sent rows older than this are deleted, a bounded number per pass. */
  retentionHours?: number;
}

export interface OutboxRelay {
  /** Publishes everything pending now; resolves when the outbox was empty at some point. Used by tests and shutdown. */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

const RELAY_LOCK = 'ecocoin.outbox.relay';
/** The relay's first retry after a failed pass; it doubles per failure up to `retryDelayMaxMs`. */
const RELAY_RETRY_DELAY_BASE_MS = 200;
const PRUNE_INTERVAL_MS = 60_000;
const RETENTION_DELETE_MAX = 1000;
/**
 * How long a consumer remembers an applied event id. Far beyond any redelivery: Kafka keeps messages 7 days by
 * default, and a consumer that falls further behind than that has lost messages anyway.
 */
export const PROCESSED_EVENTS_RETENTION_DAYS = 30;

/** Forgets applied event ids older than the retention, a bounded number per call; returns how many. */
export async function pruneProcessedEvents(db: postgres.Sql, retentionDays = PROCESSED_EVENTS_RETENTION_DAYS): Promise<number> {
  const deleted = await db`
    delete from processed_events where (consumer, event_id) in (
      select consumer, event_id from processed_events
      where processed_at < now() - make_interval(days => ${retentionDays}) limit ${RETENTION_DELETE_MAX})`;
  return deleted.count;
}

/** Events committed but not yet published, and how long the oldest has waited (0 when none): for metrics. */
export async function outboxBacklog(db: postgres.Sql): Promise<{ unsent: number; oldestUnsentAgeSeconds: number }> {
  // The partial index on unsent rows keeps this cheap however large the sent history is.
  const [row] = await db<{ unsent: number; age: number | null }[]>`
    select count(*)::int as unsent, extract(epoch from now() - min(created_at))::float8 as age from outbox where sent_at is null`;
  return { unsent: row?.unsent ?? 0, oldestUnsentAgeSeconds: Math.max(0, row?.age ?? 0) };
}

/**
 * Publishes committed outbox rows in order and marks them sent. One relay per database publishes at a time
 * (a transaction-scoped advisory lock), so per-key order holds even with several instances running.
 * A crash between publish and mark leaves the rows unsent: they are published again, and consumers dedupe by id.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { sql: db, transport, log } = options;
  const batchSizeMax = options.batchSizeMax ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const retryDelayMaxMs = options.retryDelayMaxMs ?? 30_000;
  const retentionHours = options.retentionHours ?? 24;

  /**
   * One pass: returns how many rows were published, or -1 when another relay holds the lock. `waitForLock`
   * (drain) waits its turn instead, e.g. behind a relay whose process just died and whose session
   * PostgreSQL has not ended yet.
   */
  const publishBatch = (waitForLock = false) =>
    db.begin(async (tx) => {
      if (waitForLock) await tx`select pg_advisory_xact_lock(hashtext(${RELAY_LOCK}))`;
      else {
        const [lock] = await tx`select pg_try_advisory_xact_lock(hashtext(${RELAY_LOCK})) as locked`;
        if (!lock?.locked) return -1;
      }
      const rows = await tx<{ seq: string; envelope: Envelope; request_id: string | null }[]>`
        select seq, envelope, request_id from outbox where sent_at is null order by seq limit ${batchSizeMax}`;
      if (rows.length === 0) return 0;
      await transport.publish(
        rows.map((row) => row.envelope),
        rows.map((row) => (row.request_id ? { requestId: row.request_id } : {})),
      );
      await tx`update outbox set sent_at = now() where seq in ${tx(rows.map((row) => row.seq))}`;
      return rows.length;
    });

  const pruneSent = async () => {
    await db`delete from outbox where seq in (
               select seq from outbox where sent_at < now() - make_interval(hours => ${retentionHours}) limit ${RETENTION_DELETE_MAX})`;
    await pruneProcessedEvents(db);
  };

  async function runUntilEmpty(waitForLock = false): Promise<void> {
    for (;;) {
      const published = await publishBatch(waitForLock);
      if (published < batchSizeMax) break;
    }
  }

  // Listening before the first pass, so that nothing committed between that pass and the LISTEN waits for the poll.
  const listener = await db.listen(OUTBOX_CHANNEL, () => relay.wake());
  const relay = startPeriodic({
    what: 'outbox relay',
    intervalMs: pollIntervalMs,
    firstDelayMs: 0,
    log,
    pass: () => runUntilEmpty(),
    retry: { baseMs: RELAY_RETRY_DELAY_BASE_MS, maxMs: retryDelayMaxMs },
  });
  const prune = startPeriodic({ what: 'outbox prune', intervalMs: PRUNE_INTERVAL_MS, log, pass: pruneSent });

  return {
    async drain() {
      await relay.runOnce().catch(() => {});
      await runUntilEmpty(true);
    },
    async stop() {
      await Promise.all([relay.stop(), prune.stop()]);
      // On Ctrl-C the terminal signals PostgreSQL too, so its connection may be gone already; nothing is lost by that.
      await listener.unlisten().catch(() => {});
      // A last pass for events committed by the requests that finished during shutdown (unless another relay holds
      // the lock: it publishes them). What this cannot publish stays in the outbox for the next start.
      await runUntilEmpty().catch((error: unknown) => log.warn({ err: error }, 'outbox relay could not publish before stopping; the events stay in the outbox'));
    },
  };
}
