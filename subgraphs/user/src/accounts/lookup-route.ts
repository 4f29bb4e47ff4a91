import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { badInput, forbidden, notFound } from '../../../../lib/errors.js';
import type { InternalRoute } from '../../../../lib/server/subgraph-server.js';
import { users } from '../db/schema.js';
import type { UserSummary } from '../../../../lib/users/lookup.js';
import type { UserServiceDeps } from '../resolvers/context.js';


const lookupSchema = z.union([z.strictObject({ id: z.uuid() }), z.strictObject({ email: z.string().min(1).max(254) })]);

/**
 * `POST /internal/users/lookup`: who a user id or email is (id, role, display name), for services that must
 * know before they move money (a transfer by email, a payment that only a SELLER may receive).
 */
export const userLookupRoute =
  (deps: UserServiceDeps): InternalRoute =>
  async ({ caller, body }) => {
    if (caller.kind !== 'service') throw forbidden('User lookups are for services only');
    const parsed = lookupSchema.safeParse(body);
    if (!parsed.success) throw badInput('lookup needs an `id` (uuid) or an `email`');
    const condition = 'id' in parsed.data ? eq(users.id, parsed.data.id) : eq(sql`lower(${users.email})`, parsed.data.email.toLowerCase());
    const [user] = await deps.db.select({ id: users.id, role: users.role, displayName: users.displayName }).from(users).where(condition);
    if (!user) throw notFound('No such user');
    return { status: 200, body: user satisfies UserSummary };
  };
