import { z } from 'zod';
import { parseConfig, positiveInt } from '../../../lib/config.js';
import { subgraphConfigSchema } from '../../../lib/service-config.js';
import { defaultPortOf, type SubgraphName } from '../../../lib/subgraphs.js';

export const SERVICE = 'notification' satisfies SubgraphName;
export const DEFAULT_PORT = defaultPortOf(SERVICE);

const flag = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((value) => value === 'true');

export const notificationConfigSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT, {
  /** One delivery attempt, from connect to the end of the answer. */
  WEBHOOK_TIMEOUT_MS: positiveInt(5_000).pipe(z.number().max(60_000, 'must be at most 60000')),
  /** Attempts per delivery before it is given up (FAILED). */
  WEBHOOK_ATTEMPTS_MAX: positiveInt(5).pipe(z.number().max(20, 'must be at most 20')),
  /** The wait after the first failed attempt; it doubles after each further one, up to the maximum. */
  WEBHOOK_RETRY_DELAY_BASE_MS: positiveInt(10_000),
  WEBHOOK_RETRY_DELAY_MAX_MS: positiveInt(3_600_000),
  /** Fallback poll for due deliveries; new ones wake the sender at once. */
  WEBHOOK_POLL_INTERVAL_MS: positiveInt(1_000),
  /** Deliveries sent at the same time, at most. */
  WEBHOOK_BATCH_SIZE: positiveInt(20).pipe(z.number().max(100, 'must be at most 100')),
  /** Lets webhooks reach loopback and private networks: on by default outside production only (SSRF). */
  WEBHOOK_ALLOW_PRIVATE_NETWORK: flag.optional(),
  /** Notifications, and finished webhook deliveries, are deleted after this many days. */
  NOTIFICATION_RETENTION_DAYS: positiveInt(90).pipe(z.number().max(3650, 'must be at most 3650')),
})
  .superRefine((settings, ctx) => {
    if (settings.WEBHOOK_RETRY_DELAY_MAX_MS < settings.WEBHOOK_RETRY_DELAY_BASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_RETRY_DELAY_MAX_MS'], message: 'must be at least WEBHOOK_RETRY_DELAY_BASE_MS' });
    }
  })
  .transform((settings) => ({ ...settings, WEBHOOK_ALLOW_PRIVATE_NETWORK: settings.WEBHOOK_ALLOW_PRIVATE_NETWORK ?? settings.NODE_ENV !== 'production' }));

export type NotificationConfig = z.infer<typeof notificationConfigSchema>;

/** The notification subgraph's settings from `env`; ConfigError naming every wrong variable. */
export const loadNotificationConfig = (env: Record<string, string | undefined>): NotificationConfig => parseConfig(notificationConfigSchema, env);
