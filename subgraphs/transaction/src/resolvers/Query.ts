import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type TransactionFilter, transactionsOf, visibleTransaction } from '../reads/history.js';
import { signedIn } from '../workflows/context.js';
import type { TransactionServiceDeps } from './context.js';

export const queryResolvers = (deps: TransactionServiceDeps) => ({
  transaction: (_parent: unknown, { id }: { id: string }, { identity }: SubgraphContext) => visibleTransaction(deps.db, signedIn(identity), id),
  transactions: (_parent: unknown, page: { first: number; after?: string | null; filter?: TransactionFilter | null }, { identity }: SubgraphContext) =>
    transactionsOf(deps.db, signedIn(identity).userId, page),
});
