import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

/** Fewer ticks than this, or a largest crowd below SUBSCRIBERS_FULL_MIN, is a smoke run: kept apart, never the latest in README.md. */
export const TICKS_DEFAULT = 20;
const SUBSCRIBERS_FULL_MIN = 1_000;
const TICKS_MAX = 1_000;
/** Each subscriber is a socket on both sides and an ephemeral port on loopback; past this the machine, not the gateway, gives out. */
const SUBSCRIBERS_MAX = 10_000;
const TICK_PAUSE_MS_MAX = 10_000;
const CONNECT_BATCH_MAX = 1_000;

const subscriberCounts = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be subscriber counts separated by commas, e.g. 1000,5000')
  .transform((text) => text.split(',').map(Number))
  .pipe(z.array(z.number().int().min(1).max(SUBSCRIBERS_MAX, `must be at most ${SUBSCRIBERS_MAX}`)).min(1));

/** What the subscriptions benchmark reads from the environment, once, at its entry point. */
export const subscriptionSettingsSchema = z
  .object({
    BENCH_SUBSCRIBERS: z.string().default('1000,5000').pipe(subscriberCounts),
    BENCH_TICKS: positiveInt(TICKS_DEFAULT).pipe(z.number().max(TICKS_MAX, `must be at most ${TICKS_MAX}`)),
    BENCH_TICK_PAUSE_MS: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(TICK_PAUSE_MS_MAX).default(500),
    BENCH_CONNECT_BATCH: positiveInt(200).pipe(z.number().max(CONNECT_BATCH_MAX, `must be at most ${CONNECT_BATCH_MAX}`)),
  })
  .transform((env) => ({
    subscriberCounts: env.BENCH_SUBSCRIBERS,
    ticks: env.BENCH_TICKS,
    tickPauseMs: env.BENCH_TICK_PAUSE_MS,
    connectBatch: env.BENCH_CONNECT_BATCH,
    smoke: env.BENCH_TICKS < TICKS_DEFAULT || Math.max(...env.BENCH_SUBSCRIBERS) < SUBSCRIBERS_FULL_MIN,
  }));

export type SubscriptionSettings = z.infer<typeof subscriptionSettingsSchema>;
