import { priceAlertsOf } from '../alerts/price-alerts.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCountOf } from '../notifications/store.js';
import { deliveriesOf, webhooksOf } from '../webhooks/registry.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { NotificationServiceDeps } from '../deps.js';

/** Everything here is the caller's own: the user id in every query is the signed-in one. */
export const queryResolvers = (deps: NotificationServiceDeps): QueryResolvers => ({
  notifications: (_parent, page, { identity }) => notificationsOf(deps.db, signedIn(identity).userId, page),
  unreadNotificationCount: (_parent, _args, { identity }) => unreadCountOf(deps.db, signedIn(identity).userId),
  priceAlerts: (_parent, _args, { identity }) => priceAlertsOf(deps.db, signedIn(identity).userId),
  webhooks: (_parent, _args, { identity }) => webhooksOf(deps.db, signedIn(identity).userId),
  webhookDeliveries: (_parent, { webhookId, first }, { identity }) => deliveriesOf(deps.db, signedIn(identity).userId, webhookId, first),
});
