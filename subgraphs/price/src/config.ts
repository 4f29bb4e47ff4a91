import { z } from 'zod';
import { parseConfig, positiveInt } from '../../../lib/config.js';
import { subgraphConfigSchema } from '../../../lib/service-config.js';
import { defaultPortOf, type SubgraphName } from '../../../lib/subgraphs.js';

/** Calls per minute each CoinGecko plan allows, as the shortest poll interval (one call fetches both prices). */
const POLL_INTERVAL_MIN_MS = { public: 15_000, demo: 2_000, pro: 500 } as const;
const POLL_INTERVAL_DEFAULT_MS = { simulated: 2_000, coingecko: 60_000 } as const;

export const SERVICE = 'price' satisfies SubgraphName;
export const DEFAULT_PORT = defaultPortOf(SERVICE);

export const priceConfigSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT, {
  PRICE_SOURCE: z.enum(['simulated', 'coingecko'], { message: 'must be simulated or coingecko' }).default('simulated'),
  COINGECKO_BASE_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).default('https://api.coingecko.com/api/v3'),
  COINGECKO_API_PLAN: z.enum(['public', 'demo', 'pro'], { message: 'must be public, demo or pro' }).default('public'),
  COINGECKO_API_KEY: z.string().min(1).optional(),
  COINGECKO_TIMEOUT_MS: positiveInt(10_000),
  COINGECKO_RETRY_ATTEMPTS: positiveInt(4).pipe(z.number().max(10, 'must be at most 10')),
  PRICE_POLL_INTERVAL_MS: z.coerce.number({ message: 'must be a whole number' }).int().positive().optional(),
  PRICE_STALE_AFTER_SECONDS: positiveInt(300),
  PRICE_RETENTION_DAYS: positiveInt(90),
  PRICE_BACKFILL_DAYS: positiveInt(7).pipe(z.number().max(90, 'must be at most 90')),
  QUOTE_TTL_SECONDS: positiveInt(30).pipe(z.number().max(300, 'must be at most 300')),
  SIMULATED_PRICE_SEED: z.coerce.number().int().default(42),
})
  .superRefine((settings, ctx) => {
    if (settings.PRICE_SOURCE !== 'coingecko') return;
    if (settings.COINGECKO_API_PLAN !== 'public' && !settings.COINGECKO_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['COINGECKO_API_KEY'], message: `is required for the ${settings.COINGECKO_API_PLAN} plan` });
    }
    const minimumMs = POLL_INTERVAL_MIN_MS[settings.COINGECKO_API_PLAN];
    if (settings.PRICE_POLL_INTERVAL_MS !== undefined && settings.PRICE_POLL_INTERVAL_MS < minimumMs) {
      ctx.addIssue({ code: 'custom', path: ['PRICE_POLL_INTERVAL_MS'], message: `must be at least ${minimumMs} for CoinGecko's ${settings.COINGECKO_API_PLAN} plan rate limit` });
    }
  })
  // Unset, the interval is the source's own default.
  .transform((settings) => ({ ...settings, PRICE_POLL_INTERVAL_MS: settings.PRICE_POLL_INTERVAL_MS ?? POLL_INTERVAL_DEFAULT_MS[settings.PRICE_SOURCE] }));

export type PriceConfig = z.infer<typeof priceConfigSchema>;

/** The price subgraph's settings from `env`; ConfigError naming every wrong variable. */
export const loadPriceConfig = (env: Record<string, string | undefined>): PriceConfig => parseConfig(priceConfigSchema, env);
