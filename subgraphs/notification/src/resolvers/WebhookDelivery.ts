import type { BatchedRead } from '../../../../lib/server/request-loaders.js';
import type { NotificationRow } from '../db/schema.js';
import type { WebhookDeliveryResolvers } from '../generated/resolvers-types.js';

export const webhookDeliveryResolvers = (visibleNotifications: BatchedRead<NotificationRow>): WebhookDeliveryResolvers => ({
  notification: (delivery, _args, { loaders }) => visibleNotifications.one(loaders, delivery.notificationId),
});
