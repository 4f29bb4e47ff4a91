import type { BatchedRead } from '../../../../lib/server/request-loaders.js';
import type { NotificationRow } from '../db/schema.js';
import type { NotificationResolvers } from '../generated/resolvers-types.js';

export const notificationResolvers = (visibleNotifications: BatchedRead<NotificationRow>): NotificationResolvers => ({
  __resolveReference: (reference, { loaders }) => visibleNotifications.one(loaders, reference.id),
  // The transaction subgraph resolves the rest, and decides what this caller may see of it.
  transaction: (row) => (row.transactionId ? { __typename: 'Transaction', id: row.transactionId } : null),
});
