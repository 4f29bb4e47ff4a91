import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { UserResolvers } from '../generated/resolvers-types.js';
import { notificationsOf, unreadCountOf } from '../notifications/store.js';
import type { NotificationServiceDeps } from '../deps.js';

const OWNER_ONLY = 'Only the account holder sees their notifications';

export const userResolvers = (deps: NotificationServiceDeps): UserResolvers => ({
  notifications(user, page, { identity }) {
    requireOwnerOrAdmin(identity, user.id, OWNER_ONLY);
    return notificationsOf(deps.db, user.id, page);
  },
  unreadNotificationCount(user, _args, { identity }) {
    requireOwnerOrAdmin(identity, user.id, OWNER_ONLY);
    return unreadCountOf(deps.db, user.id);
  },
});
