import type { Identity } from '../../../../lib/auth/identity.js';
import { forbidden, unauthenticated } from '../../../../lib/errors.js';
import type { LiveFeed } from '../../../../lib/events/live-feed.js';
import type { NotificationDb } from '../notifications/store.js';

/** What the notification subgraph's resolvers are built with. */
export interface NotificationServiceDeps {
  db: NotificationDb;
  /** `notification.created` events, for `notificationAdded`. */
  feed: LiveFeed;
  /** Whether webhooks may point at loopback and private networks (never in production unless set). */
  webhookPrivateNetworkAllowed: boolean;
}

export function signedIn(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/** A user's notifications are theirs and an ADMIN's; anyone else asking is FORBIDDEN. */
export function ownerOrAdmin(identity: Identity | null, userId: string): string {
  const caller = signedIn(identity);
  if (caller.role !== 'ADMIN' && caller.userId !== userId) throw forbidden('Only the account holder sees their notifications');
  return userId;
}
