import { eq, sql } from 'drizzle-orm';
import type { Logger } from '../../../../lib/log.js';
import type { UserServiceDeps } from '../deps.js';
import { users } from '../db/schema.js';
import { registerUser } from './accounts.js';

/**
 * ADMIN is never chosen at registration. An operator names the first admin in the environment
 * (ADMIN_EMAIL, ADMIN_PASSWORD); at start the account is created if missing, or promoted if it exists.
 */
export async function ensureAdmin(deps: UserServiceDeps, admin: { email: string; password: string }, log: Logger): Promise<void> {
  const [existing] = await deps.db.select().from(users).where(eq(sql`lower(${users.email})`, admin.email.toLowerCase()));
  if (!existing) {
    const user = await registerUser(deps.db, { email: admin.email, password: admin.password, displayName: 'Administrator', role: 'BUYER' });
    await deps.db.update(users).set({ role: 'ADMIN' }).where(eq(users.id, user.id));
    log.info({ email: admin.email }, 'admin account created');
  } else if (existing.role !== 'ADMIN') {
    await deps.db.update(users).set({ role: 'ADMIN' }).where(eq(users.id, existing.id));
    log.info({ email: admin.email }, 'account promoted to admin');
  }
}
