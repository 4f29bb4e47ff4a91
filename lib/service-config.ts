import { z } from 'zod';
import { commonConfigShape, port, positiveInt, withSecrets } from './config.js';

type SubgraphConfigShape = ReturnType<typeof subgraphConfigShape>;
interface SecretSettings {
  NODE_ENV: string;
  JWT_SECRET?: string | undefined;
  GATEWAY_SECRET?: string | undefined;
}

/** The settings every subgraph process has: the common ones plus its port and its own database. */
const subgraphConfigShape = (service: string, defaultPort: number) => ({
  ...commonConfigShape,
  PORT: port(defaultPort),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' })
    .default(`postgres://ecocoin:ecocoin@127.0.0.1:54320/${service}_service_db`),
  DATABASE_POOL_MAX: positiveInt(10).pipe(z.number().max(100, 'must be at most 100')),
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(15_000),
});

/**
 * A subgraph's configuration schema: the shared settings and the service's own (`settings`) in one object, so that
 * its refinements see NODE_ENV and the rest without declaring them again, with the secrets filled in.
 */
export function subgraphConfigSchema<Settings extends z.ZodRawShape = Record<never, never>>(service: string, defaultPort: number, settings?: Settings) {
  type Parsed = z.output<z.ZodObject<SubgraphConfigShape & Settings>> & SecretSettings;
  const shape = { ...subgraphConfigShape(service, defaultPort), ...settings } as SubgraphConfigShape & Settings;
  return z.object(shape).transform((config, ctx) => withSecrets(config as Parsed, ctx));
}

export type SubgraphConfig = z.infer<ReturnType<typeof subgraphConfigSchema>>;

/** Where another service listens, for its internal routes. */
export const serviceUrl = (fallback: string) => z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).default(fallback);
