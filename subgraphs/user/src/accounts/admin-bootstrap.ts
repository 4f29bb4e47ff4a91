import { and, eq, ne, sql } from 'drizzle-orm';
import { AppError } from '../../../../lib/errors.js';
import type { Logger } from '../../../../lib/log.js';
import type { UserServiceDeps } from '../deps.js';
import { users } from '../db/schema.js';
import { registerUser } from './accounts.js';

/**
 * ADMIN is never chosen at registration. An operator names the first admin in the environment
 * (ADMIN_EMAIL, ADMIN_PASSWORD); at start the account is created if missing, or promoted if it exists.
 * Several instances start at once in production: when another one creates the account first, this one only
 * promotes it, rather than failing its start on the taken email.
 */
export async function ensureAdmin(deps: UserServiceDeps, admin: { email: string; password: string }, log: Logger): Promise<void> {
  const sameEmail = eq(sql`lower(${users.email})`, admin.email.toLowerCase());
  const [existing] = await deps.db.select({ id: users.id }).from(users).where(sameEmail);
  if (!existing) {
    try {
      await registerUser(deps.db, { email: admin.email, password: admin.password, displayName: 'Administrator', role: 'BUYER' });
      log.info({ email: admin.email }, 'admin account created');
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'BAD_USER_INPUT' && error.extensions?.field === 'email')) throw error;
    }
  }
  const promoted = await deps.db.update(users).set({ role: 'ADMIN' }).where(and(sameEmail, ne(users.role, 'ADMIN'))).returning({ id: users.id });
  if (promoted.length > 0 && existing) log.info({ email: admin.email }, 'account promoted to admin');
}
