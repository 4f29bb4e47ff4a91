import type { StartOptions } from '../lib/server/service.js';
import type { RunningServer } from '../lib/server/subgraph-server.js';

/** What `npm start` needs of a subgraph (its server.ts): its name, its port, and a start from environment variables. */
export interface SubgraphModule {
  SERVICE: string;
  DEFAULT_PORT: number;
  startFromEnv(env: Record<string, string | undefined>, options?: StartOptions): Promise<RunningServer>;
}

/** The subgraphs built so far, in start order; a subgraph not listed here is absent from the supergraph too. */
export const SUBGRAPH_MODULES: Record<string, () => Promise<SubgraphModule>> = {
  user: () => import('../subgraphs/user/src/server.js'),
  price: () => import('../subgraphs/price/src/server.js'),
  // Before the transaction subgraph, which sends withdrawals to it.
  blockchain: () => import('../subgraphs/blockchain/src/server.js'),
  transaction: () => import('../subgraphs/transaction/src/server.js'),
  notification: () => import('../subgraphs/notification/src/server.js'),
};
