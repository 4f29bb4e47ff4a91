import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { DateTimeScalar, DecimalScalar } from '../../../../lib/scalars.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { NotificationServiceDeps } from '../deps.js';
import { JSONScalar } from './JSON.js';
import { mutationResolvers } from './Mutation.js';
import { notificationResolvers } from './Notification.js';
import { priceAlertResolvers } from './PriceAlert.js';
import { queryResolvers } from './Query.js';
import { subscriptionResolvers } from './Subscription.js';
import { userResolvers } from './User.js';
import { webhookDeliveryResolvers } from './WebhookDelivery.js';
import { visibleNotifications } from '../notifications/store.js';

export function createResolvers(deps: NotificationServiceDeps): GraphQLResolverMap<SubgraphContext> {
  const notifications = visibleNotifications(deps.db);
  const resolvers: Resolvers = {
    DateTime: DateTimeScalar,
    Decimal: DecimalScalar,
    JSON: JSONScalar,
    Query: queryResolvers(deps),
    Mutation: mutationResolvers(deps),
    Subscription: subscriptionResolvers(deps, notifications),
    Notification: notificationResolvers(notifications),
    User: userResolvers(deps),
    PriceAlert: priceAlertResolvers,
    WebhookDelivery: webhookDeliveryResolvers(notifications),
  };
  return resolvers as GraphQLResolverMap<SubgraphContext>;
}
