import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { priceAlertsOf } from '../alerts/price-alerts.js';
import { type NotificationPageArgs, notificationsOf, unreadCountOf } from '../notifications/store.js';
import { deliveriesOf, webhooksOf } from '../webhooks/registry.js';
import { type NotificationServiceDeps, signedIn } from './context.js';

/** Everything here is the caller's own: the user id in every query is the signed-in one. */
export const queryResolvers = (deps: NotificationServiceDeps) => ({
  notifications: (_parent: unknown, page: NotificationPageArgs, { identity }: SubgraphContext) => notificationsOf(deps.db, signedIn(identity).userId, page),
  unreadNotificationCount: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => unreadCountOf(deps.db, signedIn(identity).userId),
  priceAlerts: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => priceAlertsOf(deps.db, signedIn(identity).userId),
  webhooks: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => webhooksOf(deps.db, signedIn(identity).userId),
  webhookDeliveries: (_parent: unknown, { webhookId, first }: { webhookId: string; first: number }, { identity }: SubgraphContext) =>
    deliveriesOf(deps.db, signedIn(identity).userId, webhookId, first),
});
