import { badInput } from '../../../../lib/errors.js';
import type { QueryResolvers } from '../generated/resolvers-types.js';
import { visibleChainTransaction } from './ChainTransaction.js';
import type { BlockchainServiceDeps } from '../deps.js';

export const queryResolvers = (deps: BlockchainServiceDeps): QueryResolvers => ({
  chainTransaction: (_root, args, { identity }) => {
    if ((args.id == null) === (args.hash == null)) throw badInput('Give exactly one of id or hash', { field: args.id == null ? 'id' : 'hash' });
    return visibleChainTransaction(deps, identity, args);
  },
});
