import { z } from 'zod';
import { commonConfigShape, port, positiveInt, withSecrets } from './config.js';

/** The settings of one subgraph process: the common ones plus its port and its own database. */
export function subgraphConfigSchema(service: string, defaultPort: number) {
  return z
    .object({
      ...commonConfigShape,
      PORT: port(defaultPort),
      DATABASE_URL: z
        .url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' })
        .default(`postgres://ecocoin:ecocoin@127.0.0.1:54320/${service}_service_db`),
      DATABASE_POOL_MAX: positiveInt(10).pipe(z.number().max(100, 'must be at most 100')),
      DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(15_000),
    })
    .transform(withSecrets);
}

export type SubgraphConfig = z.infer<ReturnType<typeof subgraphConfigSchema>>;
