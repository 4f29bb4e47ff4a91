import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { visibleChainTransaction } from './ChainTransaction.js';
import type { BlockchainServiceDeps } from './context.js';

export const queryResolvers = (deps: BlockchainServiceDeps) => ({
  chainTransaction: (_root: unknown, args: { id: string }, { identity }: SubgraphContext) => visibleChainTransaction(deps, identity, args.id),
});
