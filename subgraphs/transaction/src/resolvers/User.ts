import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { retirementsOf, type TransactionFilter, transactionsOf } from '../reads/history.js';
import type { TransactionServiceDeps } from './context.js';

/** A user's history is theirs and an ADMIN's; asking for anyone else's is FORBIDDEN, on this path as on every other. */
function ownHistory(identity: SubgraphContext['identity'], userId: string): string {
  requireOwnerOrAdmin(identity, userId, 'Only the account holder sees their history');
  return userId;
}

export const userResolvers = (deps: TransactionServiceDeps) => ({
  transactions: (user: { id: string }, page: { first: number; after?: string | null; filter?: TransactionFilter | null }, { identity }: SubgraphContext) =>
    transactionsOf(deps.db, ownHistory(identity, user.id), page),
  retirements: (user: { id: string }, page: { first: number; after?: string | null }, { identity }: SubgraphContext) =>
    retirementsOf(deps.db, ownHistory(identity, user.id), page),
});
