import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { UserTokenSettings } from '../../../../lib/auth/user-token.js';
import type * as schema from '../db/schema.js';

/** What the user subgraph's resolvers are built with. */
export interface UserServiceDeps {
  db: PostgresJsDatabase<typeof schema>;
  tokens: UserTokenSettings;
}
