import { createPriceAlert, deletePriceAlert } from '../alerts/price-alerts.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { markRead } from '../notifications/store.js';
import { deleteWebhook, registerWebhook } from '../webhooks/registry.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { NotificationServiceDeps } from '../deps.js';

export const mutationResolvers = (deps: NotificationServiceDeps): MutationResolvers => ({
  markNotificationsRead: (_parent, { ids }, { identity }) => markRead(deps.db, signedIn(identity).userId, ids),
  createPriceAlert: (_parent, { input }, { identity }) => createPriceAlert(deps.db, signedIn(identity).userId, input),
  deletePriceAlert: (_parent, { id }, { identity }) => deletePriceAlert(deps.db, signedIn(identity).userId, id),
  registerWebhook: (_parent, { url }, { identity }) => registerWebhook(deps.db, signedIn(identity).userId, url, deps.webhookPrivateNetworkAllowed),
  deleteWebhook: (_parent, { id }, { identity }) => deleteWebhook(deps.db, signedIn(identity).userId, id),
});
