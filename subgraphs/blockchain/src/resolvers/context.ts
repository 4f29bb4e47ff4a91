import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { requireOwnerOrAdmin } from '../../../../lib/auth/access.js';
import type { Chain } from '../chain/clients.js';
import type { Custody } from '../chain/custody.js';
import type { KeyedLock } from '../chain/keyed-lock.js';
import type { Sender } from '../chain/sender.js';
import type { Tracker } from '../chain/tracker.js';
import type { SiweSettings } from '../chain/siwe-settings.js';
import type * as schema from '../db/schema.js';

/** What the blockchain subgraph's resolvers are built with. */
export interface BlockchainServiceDeps {
  db: PostgresJsDatabase<typeof schema>;
  chain: Chain;
  sender: Sender;
  tracker: Tracker;
  custody: Custody;
  /** One staking workflow per user at a time. */
  userLocks: KeyedLock;
  siwe: SiweSettings;
}

export { signedIn } from '../../../../lib/auth/access.js';

/** A user's chain account is theirs and an ADMIN's; anyone else is FORBIDDEN. */
export function ownOrAdmin(identity: Identity | null, userId: string, message: string): Identity {
  return requireOwnerOrAdmin(identity, userId, message);
}
