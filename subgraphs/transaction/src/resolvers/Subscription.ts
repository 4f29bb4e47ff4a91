import type { Envelope } from '../../../../lib/events/envelope.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { isParty, visibleTransaction } from '../reads/history.js';
import { signedIn } from '../workflows/context.js';
import type { TransactionServiceDeps } from './context.js';

export const subscriptionResolvers = (deps: TransactionServiceDeps) => ({
  transactionUpdated: {
    subscribe: (_parent: unknown, _args: unknown, { identity }: SubgraphContext) => {
      const caller = signedIn(identity);
      return deps.feed.subscribe((envelope) =>
        isParty(caller, { fromUserId: envelope.data.fromUserId as string | null, toUserId: envelope.data.toUserId as string | null, initiatorId: envelope.data.initiatorId as string }),
      );
    },
    // The event says which transaction changed; its current state comes from the table, checked again.
    resolve: (envelope: Envelope, _args: unknown, { identity }: SubgraphContext) => visibleTransaction(deps.db, signedIn(identity), envelope.data.transactionId),
  },
});
