import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type NotificationRow } from '../db/schema.js';
import { visibleNotification } from '../notifications/store.js';
import type { NotificationServiceDeps } from './context.js';

export const notificationResolvers = (deps: NotificationServiceDeps) => ({
  __resolveReference: (reference: { id: unknown }, { identity }: SubgraphContext) => visibleNotification(deps.db, identity, reference.id),
  // The transaction subgraph resolves the rest, and decides what this caller may see of it.
  transaction: (row: NotificationRow) => (row.transactionId ? { __typename: 'Transaction', id: row.transactionId } : null),
});
