import { startDurableConsumer } from '../../../../lib/events/consumer.js';
import type { Event, EventMetrics } from '../../../../lib/events/contracts/index.js';
import type { Topic } from '../../../../lib/events/envelope.js';
import type { SqlExecutor } from '../../../../lib/events/outbox.js';
import type { EventTransport } from '../../../../lib/events/transport.js';
import type { Logger } from '../../../../lib/log.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import { firePriceAlerts } from '../alerts/price-alerts.js';
import { noticesForBlockchainEvent, noticesForTransaction, noticesForWallet } from './from-events.js';
import { createNotifications, type Notice } from './store.js';

export const CONSUMED_TOPICS = ['transaction.status', 'wallet.updated', 'price.updated', 'blockchain.event'] as const satisfies readonly Topic[];

type ConsumedEvent = Event<(typeof CONSUMED_TOPICS)[number]>;

/** The notices an event names by itself; a price's alerts depend on what is stored, so they are found in the transaction. */
function noticesOf(event: Exclude<ConsumedEvent, { type: 'price.updated' }>): Notice[] {
  switch (event.type) {
    case 'transaction.status':
      return noticesForTransaction(event.data);
    case 'wallet.updated':
      return noticesForWallet(event.data);
    case 'blockchain.event':
      return noticesForBlockchainEvent(event.data);
  }
}

/**
 * Turns other services' events into notifications, each event once: its notices, their outbox events and
 * webhook deliveries are stored in the SQL transaction that records the event id (startDurableConsumer).
 * `name` is also the Kafka consumer group, so it must differ between deployments sharing a broker.
 */
export async function startNotificationConsumer(options: { transport: EventTransport; db: SqlExecutor; name: string; log: Logger; metrics: EventMetrics }): Promise<BackgroundTask> {
  const { log } = options;
  const subscription = await startDurableConsumer({
    transport: options.transport,
    db: options.db,
    name: options.name,
    topics: CONSUMED_TOPICS,
    log,
    metrics: options.metrics,
    // Most events name nobody to tell (a balance that did not reach zero, a transfer's sender): those cost no transaction.
    concerns: (event) => event.type === 'price.updated' || noticesOf(event).length > 0,
    apply: async (event, tx) => {
      const notices = event.type === 'price.updated' ? await firePriceAlerts(tx, event.data) : noticesOf(event);
      const created = await createNotifications(tx, notices);
      if (created.length > 0) log.debug({ eventId: event.id, type: event.type, notifications: created.length }, 'notifications created');
    },
  });
  return { stop: () => subscription.close() };
}
