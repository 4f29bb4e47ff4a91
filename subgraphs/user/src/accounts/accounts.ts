import { eq, sql } from 'drizzle-orm';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { z } from 'zod';
import type { Identity } from '../../../../lib/auth/identity.js';
import { hashPassword, PASSWORD_BYTES_MAX, PASSWORD_LENGTH_MIN, UNKNOWN_USER_HASH, verifyPassword } from '../../../../lib/auth/password.js';
import { AppError, badInput, unauthenticated } from '../../../../lib/errors.js';
import { CURRENCIES } from '../../../../lib/money.js';
import type * as schema from '../db/schema.js';
import { type UserRow, users, wallets } from '../db/schema.js';

type Db = PostgresJsDatabase<typeof schema>;

const EMAIL_LENGTH_MAX = 254;
const DISPLAY_NAME_LENGTH_MAX = 80;

const registrationSchema = z.object({
  email: z.email({ message: 'email is not a valid address' }).max(EMAIL_LENGTH_MAX, 'email is too long'),
  password: z
    .string()
    .min(PASSWORD_LENGTH_MIN, `password must be at least ${PASSWORD_LENGTH_MIN} characters`)
    .refine((password) => Buffer.byteLength(password) <= PASSWORD_BYTES_MAX, `password must be at most ${PASSWORD_BYTES_MAX} bytes`),
  displayName: z
    .string()
    .trim()
    .min(1, 'displayName must not be empty')
    .max(DISPLAY_NAME_LENGTH_MAX, `displayName must be at most ${DISPLAY_NAME_LENGTH_MAX} characters`),
  role: z.enum(['BUYER', 'SELLER'], { message: 'role must be BUYER or SELLER' }),
});
export type Registration = z.input<typeof registrationSchema>;

function parseRegistration(input: Registration) {
  const result = registrationSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw badInput(issue?.message ?? 'invalid registration', { field: String(issue?.path[0] ?? '') });
}

const isUniqueViolation = (error: unknown) => {
  const cause = (error as { cause?: { code?: string } }).cause ?? error;
  return (cause as { code?: string }).code === '23505';
};

/** Creates the user and its USD, ETH and CARBON wallets in one SQL transaction: all of it or none. */
export async function registerUser(db: Db, input: Registration): Promise<UserRow> {
  const registration = parseRegistration(input);
  const passwordHash = await hashPassword(registration.password);
  try {
    return await db.transaction(async (tx) => {
      const [user] = await tx
        .insert(users)
        .values({ email: registration.email, passwordHash, displayName: registration.displayName, role: registration.role })
        .returning();
      if (!user) throw new Error('insert returned no user');
      await tx.insert(wallets).values(CURRENCIES.map((currency) => ({ userId: user.id, currency })));
      return user;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('BAD_USER_INPUT', 'An account with this email already exists', { field: 'email' });
    throw error;
  }
}

/** The same answer, after the same bcrypt work, for an unknown email and a wrong password. */
export async function authenticate(db: Db, email: string, password: string): Promise<UserRow> {
  const [user] = email.length <= EMAIL_LENGTH_MAX ? await db.select().from(users).where(eq(sql`lower(${users.email})`, email.toLowerCase())) : [];
  const matches = await verifyPassword(password.slice(0, 200), user?.passwordHash ?? UNKNOWN_USER_HASH);
  if (!user || !matches) throw unauthenticated('Email or password is incorrect');
  return user;
}

export const identityOf = (user: UserRow): Identity => ({ userId: user.id, role: user.role });
