import type { z } from 'zod';
import type { RunningServer } from '../lib/server/subgraph-server.js';
import type { SubgraphConfig } from '../lib/service-config.js';

/** What every subgraph's server.ts exports, so `npm start` and the tests start them all the same way. */
export interface SubgraphModule {
  SERVICE: string;
  DEFAULT_PORT: number;
  configSchema: z.ZodType<SubgraphConfig, unknown>;
  start(config: SubgraphConfig): Promise<RunningServer>;
}

/** The subgraphs built so far, in start order; a subgraph not listed here is absent from the supergraph too. */
export const SUBGRAPH_MODULES: Record<string, () => Promise<SubgraphModule>> = {
  user: () => import('../subgraphs/user/src/server.js'),
};
