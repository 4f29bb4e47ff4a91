import { eq } from 'drizzle-orm';
import type { Identity } from '../../../../lib/auth/identity.js';
import { isUuid } from '../../../../lib/ids.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { type ChainTransactionRow, chainTransactions } from '../db/schema.js';
import { type BlockchainServiceDeps, signedIn } from './context.js';

/** A transaction its user or an ADMIN may see; anyone else gets null, as if it did not exist. */
export async function visibleChainTransaction(deps: BlockchainServiceDeps, identity: Identity | null, id: unknown): Promise<ChainTransactionRow | null> {
  const caller = signedIn(identity);
  if (!isUuid(id)) return null;
  const [row] = await deps.db.select().from(chainTransactions).where(eq(chainTransactions.id, id));
  if (!row || (caller.role !== 'ADMIN' && row.userId !== caller.userId)) return null;
  return row;
}

export const chainTransactionResolvers = (deps: BlockchainServiceDeps) => ({
  __resolveReference: (reference: { id: unknown }, { identity }: SubgraphContext) => (identity ? visibleChainTransaction(deps, identity, reference.id) : null),
  blockNumber: (row: ChainTransactionRow) => row.blockNumber?.toString() ?? null,
});
