import { eq, sql } from 'drizzle-orm';
import { forbidden, notFound } from '../../../../lib/errors.js';
import { contractRoute } from '../../../../lib/internal-contract.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import { userLookupCall } from '../../../../lib/users/lookup.js';
import { users } from '../db/schema.js';
import type { UserServiceDeps } from '../deps.js';

/**
 * `POST /internal/users/lookup`: who a user id or email is (id, role, display name), for services that must
 * know before they move money (a transfer by email, a payment that only a SELLER may receive).
 */
export const userLookupRoute = (deps: UserServiceDeps): InternalRoute =>
  contractRoute(userLookupCall, {
    authorize: (caller) => {
      if (caller.kind !== 'service') throw forbidden('User lookups are for services only');
    },
    handle: async ({ body }) => {
      const condition = 'id' in body ? eq(users.id, body.id) : eq(sql`lower(${users.email})`, body.email.toLowerCase());
      const [user] = await deps.db.select({ id: users.id, role: users.role, displayName: users.displayName }).from(users).where(condition);
      if (!user) throw notFound('No such user');
      return { status: 200, body: user };
    },
  });
