import type { WebhookDeliveryResolvers } from '../generated/resolvers-types.js';
import { visibleNotification } from '../notifications/store.js';
import type { NotificationServiceDeps } from '../deps.js';

export const webhookDeliveryResolvers = (deps: NotificationServiceDeps): WebhookDeliveryResolvers => ({
  notification: (delivery, _args, { identity }) => visibleNotification(deps.db, identity, delivery.notificationId),
});
