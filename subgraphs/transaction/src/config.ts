import { z } from 'zod';
import { parseConfig, positiveInt } from '../../../lib/config.js';
import { type Currency, parseAmount } from '../../../lib/money.js';
import { serviceUrl, subgraphConfigSchema } from '../../../lib/service-config.js';
import { defaultPortOf, type SubgraphName } from '../../../lib/subgraphs.js';

export const SERVICE = 'transaction' satisfies SubgraphName;
export const DEFAULT_PORT = defaultPortOf(SERVICE);

const flag = z.enum(['true', 'false'], { message: 'must be true or false' }).transform((value) => value === 'true');
/** A positive decimal amount of `currency`, in minor units. */
const amountOf = (currency: Currency, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseAmount(text, currency);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a positive amount of ${currency} like "${fallback}"` });
        return z.NEVER;
      }
    });

export const transactionConfigSchema = subgraphConfigSchema(SERVICE, DEFAULT_PORT, {
  USER_SERVICE_URL: serviceUrl('http://127.0.0.1:4001'),
  PRICE_SERVICE_URL: serviceUrl('http://127.0.0.1:4003'),
  BLOCKCHAIN_SERVICE_URL: serviceUrl('http://127.0.0.1:4004'),
  INTERNAL_TIMEOUT_MS: positiveInt(5_000),
  QUOTE_TTL_SECONDS: positiveInt(30).pipe(z.number().max(300, 'must be at most 300')),
  /** The development faucet: on by default only in development, off in production unless set. */
  DEV_FAUCET: flag.optional(),
  /** What the faucet gives one user in a UTC day, per currency (each deposit is capped too: FAUCET_DEPOSIT_MAX_MINOR). */
  DEV_FAUCET_DAILY_MAX_USD: amountOf('USD', '20000.00'),
  DEV_FAUCET_DAILY_MAX_ETH: amountOf('ETH', '20'),
  RECOVERY_INTERVAL_MS: positiveInt(1_000),
  RECOVERY_BATCH_SIZE: positiveInt(50).pipe(z.number().max(1000, 'must be at most 1000')),
}).transform((settings) => ({ ...settings, DEV_FAUCET: settings.DEV_FAUCET ?? settings.NODE_ENV === 'development' }));

export type TransactionConfig = z.infer<typeof transactionConfigSchema>;

/** The transaction subgraph's settings from `env`; ConfigError naming every wrong variable. */
export const loadTransactionConfig = (env: Record<string, string | undefined>): TransactionConfig => parseConfig(transactionConfigSchema, env);
