import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type NotificationPageArgs, notificationsOf, unreadCountOf } from '../notifications/store.js';
import { type NotificationServiceDeps, ownerOrAdmin } from './context.js';

export const userResolvers = (deps: NotificationServiceDeps) => ({
  notifications: (user: { id: string }, page: NotificationPageArgs, { identity }: SubgraphContext) => notificationsOf(deps.db, ownerOrAdmin(identity, user.id), page),
  unreadNotificationCount: (user: { id: string }, _args: unknown, { identity }: SubgraphContext) => unreadCountOf(deps.db, ownerOrAdmin(identity, user.id)),
});
