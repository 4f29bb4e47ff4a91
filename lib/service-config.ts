import { z } from 'zod';
import { commonConfigShape, port, positiveInt, withSecrets } from './config.js';

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

/** A subgraph's configuration schema; a service with settings of its own adds them with `.and(z.object({…}))`. */
export function subgraphConfigSchema(service: string, defaultPort: number) {
  return z.object(subgraphConfigShape(service, defaultPort)).transform(withSecrets);
}

export type SubgraphConfig = z.infer<ReturnType<typeof subgraphConfigSchema>>;

/** Where another service listens, for its internal routes. */
export const serviceUrl = (fallback: string) => z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).default(fallback);
