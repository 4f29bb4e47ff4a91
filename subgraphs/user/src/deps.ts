import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { UserTokenSettings } from '../../../lib/auth/user-token.js';
import type * as schema from './db/schema.js';

/** What the user subgraph's code runs on, made once at start: the resolvers and the domain code take it, apart from the GraphQL context. */
export interface UserServiceDeps {
  db: PostgresJsDatabase<typeof schema>;
  tokens: UserTokenSettings;
}
