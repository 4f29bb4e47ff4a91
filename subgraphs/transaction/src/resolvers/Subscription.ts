import type { Identity } from '../../../../lib/auth/identity.js';
import type { Event } from '../../../../lib/events/contracts/index.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import { isParty, visibleTransaction } from '../reads/history.js';
import { signedIn } from '../../../../lib/auth/access.js';
import type { TransactionFeedTopic, TransactionServiceDeps } from '../deps.js';

type FeedEvent = Event<TransactionFeedTopic>;

/** The transaction an event changed, if the caller is a party to it; null for events that change none. */
function changedTransaction(caller: Identity, event: FeedEvent): string | null {
  if (event.type === 'transaction.status') return isParty(caller, event.data) ? event.data.transactionId : null;
  if (event.data.kind !== 'RETIREMENT_CHAIN_STATUS') return null;
  // A retirement is its owner's alone: they asked for it and paid for it.
  const owner = { fromUserId: event.data.userId, toUserId: null, initiatorId: event.data.userId, status: 'COMPLETED' as const };
  return isParty(caller, owner) ? event.data.retirementId : null;
}

export const subscriptionResolvers = (deps: TransactionServiceDeps): SubscriptionResolvers => ({
  transactionUpdated: {
    subscribe: (_parent, _args, { identity }) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((event) => changedTransaction(caller, event) !== null);
    },
    // The event says which transaction changed; its current state comes from the table, checked again.
    async resolve(event: FeedEvent, _args: unknown, { identity }: SubgraphContext) {
      const caller = signedIn(identity);
      const id = changedTransaction(caller, event);
      const row = id ? await visibleTransaction(deps.db, caller, id) : null;
      // The feed passes only the caller's own transactions, so this is a bug, not a refusal.
      if (!row) throw new Error(`${event.type} event ${event.id} about a transaction its party cannot see`);
      return row;
    },
  },
});
