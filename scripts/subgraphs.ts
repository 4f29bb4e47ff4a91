import { SUBGRAPH_NAMES, type SubgraphName } from '../lib/subgraphs.js';
import type { StartOptions } from '../lib/server/service.js';
import type { RunningServer } from '../lib/server/subgraph-server.js';

/** What `npm start` needs of a subgraph (its server.ts): its name, its port, and a start from environment variables. */
export interface SubgraphModule {
  SERVICE: string;
  DEFAULT_PORT: number;
  startFromEnv(env: Record<string, string | undefined>, options?: StartOptions): Promise<RunningServer>;
}

/** Each registered subgraph's server.ts (the compiler asks for one per name in lib/subgraphs.ts). */
const LOADERS: Record<SubgraphName, () => Promise<SubgraphModule>> = {
  user: () => import('../subgraphs/user/src/server.js'),
  price: () => import('../subgraphs/price/src/server.js'),
  blockchain: () => import('../subgraphs/blockchain/src/server.js'),
  transaction: () => import('../subgraphs/transaction/src/server.js'),
  notification: () => import('../subgraphs/notification/src/server.js'),
};

/** The subgraphs' server modules, in the registry's start order. */
export const SUBGRAPH_MODULES: Record<string, () => Promise<SubgraphModule>> = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, LOADERS[name]]));
