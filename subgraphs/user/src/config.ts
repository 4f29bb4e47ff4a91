import { z } from 'zod';
import { DEFAULT_PASSWORD_HASHING_LIMITS, PASSWORD_LENGTH_MIN } from '../../../lib/auth/password.js';
import { parseConfig, positiveInt } from '../../../lib/config.js';
import { subgraphConfigSchema } from '../../../lib/service-config.js';
import { defaultPortOf, type SubgraphName } from '../../../lib/subgraphs.js';

export const SERVICE = 'user' satisfies SubgraphName;
export const DEFAULT_PORT = defaultPortOf(SERVICE);

export const userConfigSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT, {
  ADMIN_EMAIL: z.email({ message: 'must be an email address' }).optional(),
  ADMIN_PASSWORD: z.string().min(PASSWORD_LENGTH_MIN, `must be at least ${PASSWORD_LENGTH_MIN} characters`).optional(),
  /** bcrypt runs on these worker threads, never on the event loop (lib/auth/password.ts). */
  PASSWORD_HASH_THREADS: positiveInt(DEFAULT_PASSWORD_HASHING_LIMITS.threadsMax).pipe(z.number().max(64, 'must be at most 64')),
  PASSWORD_HASH_QUEUE_MAX: positiveInt(DEFAULT_PASSWORD_HASHING_LIMITS.queueMax),
}).refine((admin) => Boolean(admin.ADMIN_EMAIL) === Boolean(admin.ADMIN_PASSWORD), { message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together', path: ['ADMIN_PASSWORD'] });

export type UserConfig = z.infer<typeof userConfigSchema>;

/** The user subgraph's settings from `env`; ConfigError naming every wrong variable. */
export const loadUserConfig = (env: Record<string, string | undefined>): UserConfig => parseConfig(userConfigSchema, env);
