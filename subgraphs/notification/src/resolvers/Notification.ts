import { visibleNotification } from '../notifications/store.js';
import type { NotificationResolvers } from '../generated/resolvers-types.js';
import type { NotificationServiceDeps } from '../deps.js';

export const notificationResolvers = (deps: NotificationServiceDeps): NotificationResolvers => ({
  __resolveReference: (reference, { identity }) => visibleNotification(deps.db, identity, reference.id),
  // The transaction subgraph resolves the rest, and decides what this caller may see of it.
  transaction: (row) => (row.transactionId ? { __typename: 'Transaction', id: row.transactionId } : null),
});
