import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { visibleNotification } from '../notifications/store.js';
import type { DeliveryView } from '../webhooks/registry.js';
import type { NotificationServiceDeps } from './context.js';

export const webhookDeliveryResolvers = (deps: NotificationServiceDeps) => ({
  notification: (delivery: DeliveryView, _args: unknown, { identity }: SubgraphContext) => visibleNotification(deps.db, identity, delivery.notificationId),
});
