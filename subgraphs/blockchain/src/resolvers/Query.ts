import { badInput } from '../../../../lib/errors.js';
import type { SubgraphContext } from '../../../../lib/server/subgraph-server.js';
import { visibleChainTransaction } from './ChainTransaction.js';
import type { BlockchainServiceDeps } from './context.js';

export const queryResolvers = (deps: BlockchainServiceDeps) => ({
  chainTransaction: (_root: unknown, args: { id?: string | null; hash?: string | null }, { identity }: SubgraphContext) => {
    if ((args.id == null) === (args.hash == null)) throw badInput('Give exactly one of id or hash', { field: args.id == null ? 'id' : 'hash' });
    return visibleChainTransaction(deps, identity, args);
  },
});
