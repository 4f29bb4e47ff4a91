import { chainSides } from '../chain/retirements.js';
import type { RetirementResolvers } from '../generated/resolvers-types.js';
import type { BlockchainServiceDeps } from '../deps.js';

/**
 * The chain side of a retirement the transaction subgraph owns. Whoever may see the retirement there may see
 * its certificate: it is public on chain anyway.
 */
export const retirementResolvers = (deps: BlockchainServiceDeps): RetirementResolvers => {
  const sides = chainSides(deps);
  return {
    __resolveReference: (reference, { loaders }) => sides.one(loaders, reference.id),
  };
};
