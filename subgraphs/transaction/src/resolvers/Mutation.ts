import type { TransactionServiceDeps } from '../deps.js';
import type { MutationResolvers } from '../generated/resolvers-types.js';
import { WORKFLOWS } from '../workflows/registry.js';

/** Each workflow brings the mutations that start it; they require a signed-in caller and check everything else. */
export const mutationResolvers = (deps: TransactionServiceDeps): MutationResolvers =>
  WORKFLOWS.reduce<MutationResolvers>((all, workflow) => ({ ...all, ...workflow.mutations?.(deps) }), {});
