import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Chain } from './chain/clients.js';
import type { Custody } from './chain/custody.js';
import type { Sender } from './chain/sender.js';
import type { Tracker } from './chain/tracker.js';
import type * as schema from './db/schema.js';

/** What SIWE messages name as the site asking for a signature, and how long a challenge lasts. */
export interface SiweSettings {
  domain: string;
  uri: string;
  challengeTtlSeconds: number;
}

/** Runs a staking workflow for a user, one per user at a time across instances (chain/staking.ts, `createStakingLock`). */
export type StakingLock = <T>(userId: string, task: () => Promise<T>) => Promise<T>;

/** What the blockchain subgraph's code runs on, made once at start: the resolvers and the domain code take it, apart from the GraphQL context. */
export interface BlockchainServiceDeps {
  db: PostgresJsDatabase<typeof schema>;
  chain: Chain;
  sender: Sender;
  tracker: Tracker;
  custody: Custody;
  /** One staking workflow per user at a time, across instances. */
  stakingLock: StakingLock;
  siwe: SiweSettings;
}
