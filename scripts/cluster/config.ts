import { z } from 'zod';
import { REPLICAS_MAX } from './ports.js';

/** What `npm run start:cluster` reads from the environment; everything else goes on to the services. */
export const clusterConfigSchema = z.object({
  CLUSTER_REPLICAS: z.coerce
    .number({ message: `must be a whole number from 1 to ${REPLICAS_MAX}` })
    .int(`must be a whole number from 1 to ${REPLICAS_MAX}`)
    .min(1, `must be a whole number from 1 to ${REPLICAS_MAX}`)
    .max(REPLICAS_MAX, `must be a whole number from 1 to ${REPLICAS_MAX}`)
    .default(1),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
