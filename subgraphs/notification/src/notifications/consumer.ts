import { startDurableConsumer } from '../../../../lib/events/consumer.js';
import type { Envelope, Topic } from '../../../../lib/events/envelope.js';
import type { SqlExecutor } from '../../../../lib/events/outbox.js';
import type { EventTransport } from '../../../../lib/events/transport.js';
import type { Logger } from '../../../../lib/log.js';
import type { BackgroundTask } from '../../../../lib/server/service.js';
import { firePriceAlerts } from '../alerts/price-alerts.js';
import { noticesForBlockchainEvent, noticesForTransaction, noticesForWallet } from './from-events.js';
import { createNotifications, type Notice } from './store.js';

export const CONSUMED_TOPICS = ['transaction.status', 'wallet.updated', 'price.updated', 'blockchain.event'] as const satisfies readonly Topic[];

async function noticesFor(envelope: Envelope, tx: SqlExecutor): Promise<Notice[]> {
  switch (envelope.type) {
    case 'transaction.status':
      return noticesForTransaction(envelope.data);
    case 'wallet.updated':
      return noticesForWallet(envelope.data);
    case 'price.updated':
      return firePriceAlerts(tx, envelope.data);
    case 'blockchain.event':
      return noticesForBlockchainEvent(envelope.data);
    default:
      return [];
  }
}

/**
 * Turns other services' events into notifications, each event once: its notices, their outbox events and
 * webhook deliveries are stored in the SQL transaction that records the event id (startDurableConsumer).
 * `name` is also the Kafka consumer group, so it must differ between deployments sharing a broker.
 */
export async function startNotificationConsumer(options: { transport: EventTransport; db: SqlExecutor; name: string; log: Logger }): Promise<BackgroundTask> {
  const { log } = options;
  const subscription = await startDurableConsumer({
    transport: options.transport,
    db: options.db,
    name: options.name,
    topics: CONSUMED_TOPICS,
    log,
    apply: async (envelope, tx) => {
      const created = await createNotifications(tx, await noticesFor(envelope, tx));
      if (created.length > 0) log.debug({ eventId: envelope.id, type: envelope.type, notifications: created.length }, 'notifications created');
    },
  });
  return { stop: () => subscription.close() };
}
