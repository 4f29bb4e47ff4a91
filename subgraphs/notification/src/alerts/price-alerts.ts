import { and, desc, eq, sql } from 'drizzle-orm';
import { decimalToScaled, PRICE_SCALE, trimDecimal } from '../../../../lib/decimal.js';
import { badInput } from '../../../../lib/errors.js';
import type { EventData } from '../../../../lib/events/contracts/index.js';
import type { SqlExecutor } from '../../../../lib/events/outbox.js';
import { isUuid } from '../../../../lib/ids.js';
import { type PriceAlertRow, priceAlerts } from '../db/schema.js';
import type { Notice, NotificationDb } from '../notifications/store.js';

export const PRICE_ALERTS_PER_USER_MAX = 50;
/** numeric(38,18) holds 20 whole digits; no price comes near this. */
const THRESHOLD_SCALED_MAX = 10n ** 15n * 10n ** BigInt(PRICE_SCALE);

export type PriceSymbol = PriceAlertRow['symbol'];
export type AlertDirection = PriceAlertRow['direction'];

export interface PriceAlertInput {
  symbol: PriceSymbol;
  direction: AlertDirection;
  threshold: string;
}

function checkThreshold(threshold: string): string {
  let scaled: bigint;
  try {
    scaled = decimalToScaled(threshold);
  } catch {
    throw badInput('threshold must be a decimal like "1.25"', { field: 'threshold' });
  }
  if (scaled <= 0n) throw badInput('threshold must be greater than zero', { field: 'threshold' });
  if (scaled >= THRESHOLD_SCALED_MAX) throw badInput('threshold is too large', { field: 'threshold' });
  return threshold;
}

/** A new alert for `userId`; the per-user limit holds under concurrent calls (a lock per user). */
export async function createPriceAlert(db: NotificationDb, userId: string, input: PriceAlertInput): Promise<PriceAlertRow> {
  const threshold = checkThreshold(input.threshold);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`price-alerts:${userId}`}))`);
    const [existing] = await tx.select({ total: sql<number>`count(*)::int` }).from(priceAlerts).where(eq(priceAlerts.userId, userId));
    if ((existing?.total ?? 0) >= PRICE_ALERTS_PER_USER_MAX) {
      throw badInput(`You have ${PRICE_ALERTS_PER_USER_MAX} price alerts, the most allowed; delete one first`, { field: 'input' });
    }
    const [row] = await tx.insert(priceAlerts).values({ userId, symbol: input.symbol, direction: input.direction, threshold }).returning();
    return row as PriceAlertRow;
  });
}

export const priceAlertsOf = (db: NotificationDb, userId: string) =>
  db.select().from(priceAlerts).where(eq(priceAlerts.userId, userId)).orderBy(desc(priceAlerts.createdAt), desc(priceAlerts.id)).limit(PRICE_ALERTS_PER_USER_MAX);

export async function deletePriceAlert(db: NotificationDb, userId: string, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const deleted = await db.delete(priceAlerts).where(and(eq(priceAlerts.id, id), eq(priceAlerts.userId, userId))).returning({ id: priceAlerts.id });
  return deleted.length > 0;
}

/**
 * The alerts a price change fires: ABOVE when the price rose from below the threshold to at or above it,
 * BELOW when it fell from above to at or below. Staying on the same side fires nothing, so an alert fires
 * once per crossing and is armed again by the crossing back. The first price ever has nothing to cross from.
 * Runs in the consumer's SQL transaction: the alerts' counts move with the notices made from them.
 */
export async function firePriceAlerts(tx: SqlExecutor, price: EventData<'price.updated'>): Promise<Notice[]> {
  const { symbol, value, previousValue, observedAt } = price;
  if (previousValue === null) return [];
  const fired = await tx
    .update(priceAlerts)
    .set({ triggerCount: sql`${priceAlerts.triggerCount} + 1`, lastTriggeredAt: sql`now()` })
    .where(
      and(
        eq(priceAlerts.symbol, symbol),
        sql`((${priceAlerts.direction} = 'ABOVE' and ${previousValue}::numeric < ${priceAlerts.threshold} and ${value}::numeric >= ${priceAlerts.threshold})
          or (${priceAlerts.direction} = 'BELOW' and ${previousValue}::numeric > ${priceAlerts.threshold} and ${value}::numeric <= ${priceAlerts.threshold}))`,
      ),
    )
    .returning();
  return fired.map((alert) => alertNotice(alert, { value, previousValue, observedAt }));
}

function alertNotice(alert: PriceAlertRow, price: { value: string; previousValue: string; observedAt: string }): Notice {
  const threshold = trimDecimal(alert.threshold);
  const [moved, back] = alert.direction === 'ABOVE' ? ['rose above', 'falls back below'] : ['fell below', 'rises back above'];
  return {
    userId: alert.userId,
    kind: 'PRICE_ALERT',
    title: `${alert.symbol} ${moved} ${threshold} USD`,
    body: `${alert.symbol} is at ${trimDecimal(price.value)} USD (it was ${trimDecimal(price.previousValue)} USD). This alert fires again after the price ${back} ${threshold} USD.`,
    data: { alertId: alert.id, symbol: alert.symbol, direction: alert.direction, threshold, value: price.value, previousValue: price.previousValue, observedAt: price.observedAt },
  };
}
