import type { LiveFeed } from '../../../lib/events/live-feed.js';
import type { NotificationDb } from './notifications/store.js';

/** What the notification subgraph's code runs on, made once at start: the resolvers and the domain code take it, apart from the GraphQL context. */
export interface NotificationServiceDeps {
  db: NotificationDb;
  /** `notification.created` events, for `notificationAdded`. */
  feed: LiveFeed<'notification.created'>;
  /** Whether webhooks may point at loopback and private networks (never in production unless set). */
  webhookPrivateNetworkAllowed: boolean;
}
