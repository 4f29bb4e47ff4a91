import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { badInput, notFound } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/ids.js';
import { type WebhookAttemptRow, type WebhookDeliveryRow, type WebhookRow, webhookAttempts, webhookDeliveries, webhooks } from '../db/schema.js';
import type { NotificationDb } from '../notifications/store.js';
import { isPublicAddress, literalAddressOf } from './address.js';
import { newWebhookSecret } from './signature.js';

export const WEBHOOKS_PER_USER_MAX = 5;
export const WEBHOOK_URL_LENGTH_MAX = 2048;
export const DELIVERIES_PAGE_SIZE_MAX = 100;

/** An http(s) URL a delivery can be sent to; the reason when not, for BAD_USER_INPUT on `url`. */
export function checkWebhookUrl(text: string, allowPrivateNetwork: boolean): URL {
  const refuse = (message: string) => badInput(message, { field: 'url' });
  if (text.length > WEBHOOK_URL_LENGTH_MAX) throw refuse(`url must be at most ${WEBHOOK_URL_LENGTH_MAX} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('url must start with http:// or https://');
  if (url.hostname === '') throw refuse('url must name a host');
  const literal = literalAddressOf(url);
  if (!allowPrivateNetwork && ((literal && !isPublicAddress(literal)) || url.hostname === 'localhost')) {
    throw refuse('url must point to a public address');
  }
  return url;
}

export type WebhookView = Omit<WebhookRow, 'secret'>;
const publicColumns = { id: webhooks.id, userId: webhooks.userId, url: webhooks.url, createdAt: webhooks.createdAt };

/** A new webhook with its signing secret: the only answer that ever contains the secret. */
export async function registerWebhook(db: NotificationDb, userId: string, urlText: string, allowPrivateNetwork: boolean): Promise<WebhookRow> {
  const url = checkWebhookUrl(urlText, allowPrivateNetwork).toString();
  return db.transaction(async (tx) => {
    // Concurrent registrations of one user queue here, so the limit holds.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`webhooks:${userId}`}))`);
    const [existing] = await tx.select({ total: sql<number>`count(*)::int` }).from(webhooks).where(eq(webhooks.userId, userId));
    if ((existing?.total ?? 0) >= WEBHOOKS_PER_USER_MAX) {
      throw badInput(`You have ${WEBHOOKS_PER_USER_MAX} webhooks, the most allowed; delete one first`, { field: 'url' });
    }
    const [row] = await tx.insert(webhooks).values({ id: randomUUID(), userId, url, secret: newWebhookSecret() }).returning();
    return row as WebhookRow;
  });
}

export const webhooksOf = (db: NotificationDb, userId: string): Promise<WebhookView[]> =>
  db.select(publicColumns).from(webhooks).where(eq(webhooks.userId, userId)).orderBy(desc(webhooks.createdAt), desc(webhooks.id)).limit(WEBHOOKS_PER_USER_MAX);

/** Deletes the caller's webhook and its deliveries; someone else's id deletes nothing. */
export async function deleteWebhook(db: NotificationDb, userId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const deleted = await db.delete(webhooks).where(and(eq(webhooks.id, id), eq(webhooks.userId, userId))).returning({ id: webhooks.id });
  return deleted.length > 0;
}

export type DeliveryView = WebhookDeliveryRow & { attempts: WebhookAttemptRow[] };

/** The newest deliveries to one of the caller's webhooks, each with its attempts in order; NOT_FOUND for anyone else's. */
export async function deliveriesOf(db: NotificationDb, userId: string, webhookId: string, first: number): Promise<DeliveryView[]> {
  if (!Number.isInteger(first) || first < 1 || first > DELIVERIES_PAGE_SIZE_MAX) {
    throw badInput(`first must be between 1 and ${DELIVERIES_PAGE_SIZE_MAX}`, { field: 'first' });
  }
  const owned = isUuid(webhookId) ? await db.select({ id: webhooks.id }).from(webhooks).where(and(eq(webhooks.id, webhookId), eq(webhooks.userId, userId))) : [];
  if (owned.length === 0) throw notFound('No webhook of yours has this id');
  const deliveries = await db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, webhookId))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(first);
  if (deliveries.length === 0) return [];
  // Attempts per delivery are bounded by WEBHOOK_ATTEMPTS_MAX (at most 20), so this is at most 2000 rows.
  const attempts = await db
    .select()
    .from(webhookAttempts)
    .where(inArray(webhookAttempts.deliveryId, deliveries.map((delivery) => delivery.id)))
    .orderBy(webhookAttempts.deliveryId, webhookAttempts.number);
  return deliveries.map((delivery) => ({ ...delivery, attempts: attempts.filter((attempt) => attempt.deliveryId === delivery.id) }));
}
