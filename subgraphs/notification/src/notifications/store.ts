import { checkPageSize, decodeCursor, encodeCursor, type Page, pageOf } from '../../../../lib/paging.js';
import { randomUUID } from 'node:crypto';
import { and, count, desc, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { badInput } from '../../../../lib/errors.js';
import { createEnvelope } from '../../../../lib/events/contracts/index.js';
import { enqueueEvents, type SqlExecutor } from '../../../../lib/events/outbox.js';
import { isUuid } from '../../../../lib/ids.js';
import { BatchedRead } from '../../../../lib/server/request-loaders.js';
import type * as schema from '../db/schema.js';
import { type NotificationKind, type NotificationRow, notifications, webhookDeliveries, webhooks } from '../db/schema.js';

export type NotificationDb = PostgresJsDatabase<typeof schema>;

export const MARK_READ_IDS_MAX = 100;
/** Wakes the webhook sender when a transaction that wrote deliveries commits. */
export const WEBHOOK_CHANNEL = 'ecocoin_webhook_deliveries';

/** A notification about to be made: for whom, and what it says. */
export interface Notice {
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  data: Record<string, unknown>;
  transactionId?: string | null;
}

/** What `notification.created` carries and a webhook receives: the notification as the API shows it. */
export const publicNotification = (row: NotificationRow) => ({
  id: row.id,
  userId: row.userId,
  kind: row.kind,
  title: row.title,
  body: row.body,
  data: row.data,
  transactionId: row.transactionId,
  createdAt: row.createdAt.toISOString(),
});

/**
 * Stores notices as notifications, in the caller's SQL transaction, with what must follow from each: its
 * `notification.created` event in the outbox (key: the user) and one delivery per webhook of its user.
 * Nothing of it exists unless that transaction commits.
 */
export async function createNotifications(tx: SqlExecutor, notices: readonly Notice[]): Promise<NotificationRow[]> {
  if (notices.length === 0) return [];
  const rows = await tx
    .insert(notifications)
    .values(notices.map((notice) => ({ id: randomUUID(), ...notice, transactionId: notice.transactionId ?? null })))
    .returning();
  await enqueueEvents(
    tx,
    rows.map((row) => createEnvelope('notification.created', row.userId, publicNotification(row))),
  );
  const hooks = await tx
    .select({ id: webhooks.id, userId: webhooks.userId })
    .from(webhooks)
    .where(inArray(webhooks.userId, [...new Set(rows.map((row) => row.userId))]));
  const deliveries = rows.flatMap((row) =>
    hooks
      .filter((hook) => hook.userId === row.userId)
      .map((hook) => {
        const id = randomUUID();
        const body = JSON.stringify({ deliveryId: id, type: 'notification.created', notification: publicNotification(row) });
        return { id, webhookId: hook.id, notificationId: row.id, body, nextAttemptAt: sql`now()` };
      }),
  );
  if (deliveries.length > 0) {
    await tx.insert(webhookDeliveries).values(deliveries);
    await tx.execute(sql`select pg_notify(${WEBHOOK_CHANNEL}, '')`);
  }
  return rows;
}


export interface NotificationPageArgs {
  first: number;
  after?: string | null;
  unreadOnly?: boolean | null;
}

/** `userId`'s notifications, newest first. */
export async function notificationsOf(db: NotificationDb, userId: string, page: NotificationPageArgs): Promise<Page<NotificationRow>> {
  const first = checkPageSize(page.first);
  const conditions: SQL[] = [eq(notifications.userId, userId)];
  if (page.unreadOnly) conditions.push(isNull(notifications.readAt));
  if (page.after) {
    const { at, id } = decodeCursor(page.after);
    conditions.push(sql`(${notifications.createdAt}, ${notifications.id}) < (${at.toISOString()}::timestamptz, ${id}::uuid)`);
  }
  const rows = await db
    .select()
    .from(notifications)
    .where(and(...conditions))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(first + 1);
  return pageOf(rows, first, (row) => encodeCursor(row.createdAt, row.id));
}

export async function unreadCountOf(db: NotificationDb, userId: string): Promise<number> {
  const [row] = await db
    .select({ unread: count() })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)));
  return row?.unread ?? 0;
}

/** Marks the caller's unread notifications among `ids` read; ids of anyone else's match nothing. Returns how many changed. */
export async function markRead(db: NotificationDb, userId: string, ids: readonly string[]): Promise<number> {
  if (ids.length > MARK_READ_IDS_MAX) throw badInput(`Give at most ${MARK_READ_IDS_MAX} ids at a time`, { field: 'ids' });
  if (!ids.every(isUuid)) throw badInput('ids must be notification ids', { field: 'ids' });
  if (ids.length === 0) return 0;
  const changed = await db
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(eq(notifications.userId, userId), inArray(notifications.id, [...new Set(ids)]), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return changed.length;
}

/**
 * Notifications by id, batched per request (lib/server/request-loaders.ts): a user's own, or any for an ADMIN;
 * none otherwise, decided in the query.
 */
export const visibleNotifications = (db: NotificationDb) =>
  new BatchedRead<NotificationRow>(async (ids, identity) => {
    if (!identity) return [];
    const owner = identity.role === 'ADMIN' ? undefined : eq(notifications.userId, identity.userId);
    return db
      .select()
      .from(notifications)
      .where(and(inArray(notifications.id, ids), owner));
  }, (row) => row.id);
