import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
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

/** What the blockchain subgraph's code runs on, made once at start: the resolvers and the domain code take it, apart from the GraphQL context. */
export interface BlockchainServiceDeps {
  db: PostgresJsDatabase<typeof schema>;
  /** The same pool as `db`, for what drizzle does not do: locks held on a reserved connection. */
  sql: postgres.Sql;
  chain: Chain;
  sender: Sender;
  tracker: Tracker;
  custody: Custody;
  siwe: SiweSettings;
}
