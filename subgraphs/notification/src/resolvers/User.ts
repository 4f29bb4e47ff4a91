import type { UserResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCountOf } from '../notifications/store.js';
import { type NotificationServiceDeps, ownerOrAdmin } from './context.js';

export const userResolvers = (deps: NotificationServiceDeps): UserResolvers => ({
  notifications: (user, page, { identity }) => notificationsOf(deps.db, ownerOrAdmin(identity, user.id), page),
  unreadNotificationCount: (user, _args, { identity }) => unreadCountOf(deps.db, ownerOrAdmin(identity, user.id)),
});
