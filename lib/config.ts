import { z } from 'zod';
import { secretWeakness } from './secret-strength.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the environment once with a zod schema. Every problem is reported together, each naming its
 * variable, so a wrong deployment fails at start with one readable message rather than later at the
 * first request.
 */
export function parseConfig<Schema extends z.ZodType>(schema: Schema, env: Record<string, string | undefined>): z.infer<Schema> {
  // An empty variable (`KEY=` in a compose file or .env) means "not set", as shells and compose treat it.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(set);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    // One variable per line: a broker list's third entry is still KAFKA_BROKERS to the operator.
    const variable = String(issue.path[0] ?? '(environment)');
    return `  ${variable}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

const isProduction = (env: Record<string, unknown>) => env.NODE_ENV === 'production';

/** Development defaults are public strings; production must set its own, and short ones are refused. */
const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production-0000';
const DEV_GATEWAY_SECRET = 'dev-only-gateway-secret-do-not-use-in-production';
const SECRET_LENGTH_MIN = 32;

export const port = (fallback: number) =>
  z.coerce.number({ message: 'must be a port number from 0 to 65535' }).int('must be a port number from 0 to 65535').min(0).max(65535, 'must be a port number from 0 to 65535').default(fallback);
export const positiveInt = (fallback: number) => z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').positive('must be greater than zero').default(fallback);
const secret = z.string().min(SECRET_LENGTH_MIN, `must be at least ${SECRET_LENGTH_MIN} characters`);
const optionalSecret = secret.optional();

/** Settings every process shares: environment, secrets, event transport. */
export const commonConfigShape = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  JWT_SECRET: optionalSecret,
  JWT_ISSUER: z.string().min(1).default('ecocoin'),
  JWT_AUDIENCE: z.string().min(1).default('ecocoin-api'),
  JWT_TTL_SECONDS: positiveInt(3600).pipe(z.number().max(7 * 24 * 3600, 'must be at most 7 days')),
  GATEWAY_SECRET: optionalSecret,
  KAFKA_BROKERS: z
    .string()
    .optional()
    .transform((value) => (value ? value.split(',').map((broker) => broker.trim()).filter(Boolean) : undefined))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port[,host:port…]')).min(1).optional()),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/).default(''),
  /**
   * How long a stop on SIGTERM may take in all: in-flight requests, the outbox's last drain, disconnects. Past it the
   * process exits with code 1. Keep it below the orchestrator's kill grace (compose `stop_grace_period`).
   */
  SHUTDOWN_TIMEOUT_MS: positiveInt(20_000).pipe(z.number().max(300_000, 'must be at most 300000 (5 minutes)')),
} as const;

/** Fills the development defaults for secrets, and refuses to start production without real ones. */
export function withSecrets<T extends { NODE_ENV: string; JWT_SECRET?: string | undefined; GATEWAY_SECRET?: string | undefined }>(
  config: T,
  ctx: z.RefinementCtx,
): T & { JWT_SECRET: string; GATEWAY_SECRET: string } {
  if (isProduction(config)) {
    if (!config.JWT_SECRET) ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required when NODE_ENV=production' });
    if (!config.GATEWAY_SECRET) ctx.addIssue({ code: 'custom', path: ['GATEWAY_SECRET'], message: 'is required when NODE_ENV=production' });
    for (const variable of ['JWT_SECRET', 'GATEWAY_SECRET'] as const) {
      const value = config[variable];
      const problem = value && ([DEV_JWT_SECRET, DEV_GATEWAY_SECRET].includes(value) ? 'must not be a development default: it is public' : secretWeakness(value));
      if (problem) ctx.addIssue({ code: 'custom', path: [variable], message: `${problem}; make one with \`openssl rand -base64 32\`` });
    }
    // Two keys, so that one leaked secret is not both, and a user token can never pass for an internal credential.
    if (config.JWT_SECRET && config.JWT_SECRET === config.GATEWAY_SECRET) ctx.addIssue({ code: 'custom', path: ['GATEWAY_SECRET'], message: 'must differ from JWT_SECRET' });
  }
  return { ...config, JWT_SECRET: config.JWT_SECRET ?? DEV_JWT_SECRET, GATEWAY_SECRET: config.GATEWAY_SECRET ?? DEV_GATEWAY_SECRET };
}

/** Runs `main` and turns a configuration error into one clear message and exit code 1, without a stack. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
