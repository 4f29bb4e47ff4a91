import { and, eq, sql } from 'drizzle-orm';
import type postgres from 'postgres';
import { backoffDelayMs } from '../../../../lib/backoff.js';
import type { Logger } from '../../../../lib/log.js';
import { startPeriodic } from '../../../../lib/server/periodic.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import { webhookAttempts, webhookDeliveries } from '../db/schema.js';
import { type NotificationDb, WEBHOOK_CHANNEL } from '../notifications/store.js';
import { type PostOutcome, postJson } from './http-post.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signatureOf, TIMESTAMP_HEADER } from './signature.js';

export interface WebhookSenderOptions {
  db: NotificationDb;
  sql: postgres.Sql;
  log: Logger;
  timeoutMs: number;
  attemptsMax: number;
  retryDelayBaseMs: number;
  retryDelayMaxMs: number;
  pollIntervalMs: number;
  batchSizeMax: number;
  allowPrivateNetwork: boolean;
}

interface DueDelivery {
  id: string;
  body: string;
  attempt_count: number;
  url: string;
  secret: string;
}

/** A claimed delivery is left alone by other senders for this long past its time-out, then retried if its sender died. */
const LEASE_MARGIN_MS = 30_000;
/** Taken off each retry delay at random, so receivers that failed together are not all retried at one instant. */
const RETRY_JITTER = 0.2;

/** The wait before attempt `failures + 1`: base, 2×base, 4×base, … up to the maximum, less up to 20 %. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.round(backoffDelayMs(failures - 1, { baseMs, maxMs, jitter: RETRY_JITTER }, random));
}

/**
 * Sends due webhook deliveries, each attempt signed and time-limited, and records every attempt. A failure
 * (no 2xx answer, network error, time-out) is retried after an exponential delay until `attemptsMax`
 * attempts, then the delivery is FAILED. It wakes when a new delivery commits, and polls besides.
 * Several instances may run: each claims rows with `for update skip locked`.
 */
export async function startWebhookSender(options: WebhookSenderOptions): Promise<BackgroundTask> {
  const { log } = options;
  const leaseMs = options.timeoutMs + LEASE_MARGIN_MS;
  const claimDue = () =>
    options.sql<DueDelivery[]>`
      update webhook_deliveries d
         set next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
        from webhooks w
       where w.id = d.webhook_id
         and d.id in (select id from webhook_deliveries
                       where status = 'PENDING' and next_attempt_at <= now()
                       order by next_attempt_at
                       limit ${options.batchSizeMax}
                       for update skip locked)
      returning d.id, d.body, d.attempt_count, w.url, w.secret`;

  async function attempt(delivery: DueDelivery): Promise<void> {
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const headers = {
      [TIMESTAMP_HEADER]: String(timestampSeconds),
      [SIGNATURE_HEADER]: signatureOf(delivery.secret, timestampSeconds, delivery.body),
      [DELIVERY_HEADER]: delivery.id,
    };
    const attemptedAt = new Date();
    const outcome = await postJson(new URL(delivery.url), delivery.body, headers, { timeoutMs: options.timeoutMs, allowPrivateNetwork: options.allowPrivateNetwork });
    await record(delivery, attemptedAt, Date.now() - attemptedAt.getTime(), outcome);
  }

  /** The attempt and the delivery's new state in one SQL transaction; a sender whose lease ran out records nothing. */
  async function record(delivery: DueDelivery, attemptedAt: Date, durationMs: number, outcome: PostOutcome) {
    const number = delivery.attempt_count + 1;
    const delivered = 'statusCode' in outcome && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const givenUp = !delivered && number >= options.attemptsMax;
    const nextAttemptAt = delivered || givenUp ? null : new Date(Date.now() + retryDelayMs(number, options.retryDelayBaseMs, options.retryDelayMaxMs));
    await options.db.transaction(async (tx) => {
      const updated = await tx
        .update(webhookDeliveries)
        .set({ attemptCount: number, status: delivered ? 'DELIVERED' : givenUp ? 'FAILED' : 'PENDING', nextAttemptAt, completedAt: nextAttemptAt ? null : sql`now()` })
        .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.attemptCount, delivery.attempt_count), eq(webhookDeliveries.status, 'PENDING')))
        .returning({ id: webhookDeliveries.id });
      if (updated.length === 0) return;
      await tx.insert(webhookAttempts).values({
        deliveryId: delivery.id,
        number,
        attemptedAt,
        statusCode: 'statusCode' in outcome ? outcome.statusCode : null,
        error: 'error' in outcome ? outcome.error : null,
        durationMs,
      });
    });
    if (givenUp) log.warn({ deliveryId: delivery.id, attempts: number }, 'webhook delivery given up');
  }

  async function sendDue(stopped: () => boolean): Promise<void> {
    for (;;) {
      const due = await claimDue();
      await Promise.all(due.map((delivery) => attempt(delivery)));
      if (due.length < options.batchSizeMax || stopped()) return;
    }
  }

  // Listening before the first pass, so that a delivery committed meanwhile does not wait for the poll.
  const listener = await options.sql.listen(WEBHOOK_CHANNEL, () => sender.wake());
  const sender = startPeriodic({ what: 'webhook sender pass', intervalMs: options.pollIntervalMs, firstDelayMs: 0, log, pass: sendDue });

  return {
    async stop() {
      await listener.unlisten().catch(() => {});
      await sender.stop();
    },
  };
}
