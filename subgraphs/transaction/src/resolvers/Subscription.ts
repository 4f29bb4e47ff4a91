import type { Envelope } from '../../../../lib/events/envelope.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import type { TransactionRow } from '../db/schema.js';
import type { SubscriptionResolvers } from '../generated/resolvers-types.js';
import { isParty, visibleTransaction } from '../reads/history.js';
import { signedIn } from '../workflows/context.js';
import type { TransactionServiceDeps } from './context.js';

export const subscriptionResolvers = (deps: TransactionServiceDeps): SubscriptionResolvers => ({
  transactionUpdated: {
    subscribe: (_parent, _args, { identity }) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((envelope) =>
        isParty(caller, {
          fromUserId: envelope.data.fromUserId as string | null,
          toUserId: envelope.data.toUserId as string | null,
          initiatorId: envelope.data.initiatorId as string,
          status: envelope.data.status as TransactionRow['status'],
        }),
      );
    },
    // The event says which transaction changed; its current state comes from the table, checked again.
    async resolve(envelope: Envelope, _args: unknown, { identity }: SubgraphContext) {
      const row = await visibleTransaction(deps.db, signedIn(identity), envelope.data.transactionId);
      // The feed passes only the caller's own transactions, so this is a bug, not a refusal.
      if (!row) throw new Error(`transaction.status event for transaction ${String(envelope.data.transactionId)} that its party cannot see`);
      return row;
    },
  },
});
