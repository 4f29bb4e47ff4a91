import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { createPriceAlert, deletePriceAlert, type PriceAlertInput } from '../alerts/price-alerts.js';
import { markRead } from '../notifications/store.js';
import { deleteWebhook, registerWebhook } from '../webhooks/registry.js';
import { type NotificationServiceDeps, signedIn } from './context.js';

export const mutationResolvers = (deps: NotificationServiceDeps) => ({
  markNotificationsRead: (_parent: unknown, { ids }: { ids: string[] }, { identity }: SubgraphContext) => markRead(deps.db, signedIn(identity).userId, ids),
  createPriceAlert: (_parent: unknown, { input }: { input: PriceAlertInput }, { identity }: SubgraphContext) => createPriceAlert(deps.db, signedIn(identity).userId, input),
  deletePriceAlert: (_parent: unknown, { id }: { id: string }, { identity }: SubgraphContext) => deletePriceAlert(deps.db, signedIn(identity).userId, id),
  registerWebhook: (_parent: unknown, { url }: { url: string }, { identity }: SubgraphContext) =>
    registerWebhook(deps.db, signedIn(identity).userId, url, deps.webhookPrivateNetworkAllowed),
  deleteWebhook: (_parent: unknown, { id }: { id: string }, { identity }: SubgraphContext) => deleteWebhook(deps.db, signedIn(identity).userId, id),
});
