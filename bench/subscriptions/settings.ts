import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

/** Fewer ticks than this, or a largest crowd below SUBSCRIBERS_FULL_MIN, is a smoke run: kept apart, never the latest in README.md. */
export const TICKS_DEFAULT = 20;
const SUBSCRIBERS_FULL_MIN = 1_000;
const TICKS_MAX = 1_000;
/** Each subscriber is a socket on both sides and an ephemeral port on loopback; past this the machine, not the gateway, gives out. */
export const SUBSCRIBERS_MAX = 10_000;
const TICK_PAUSE_MS_MAX = 10_000;
const CONNECT_BATCH_MAX = 1_000;
/** Each client process is a Node process of its own (about 60 MB before its sockets); the machine has 2 cores. */
const CLIENT_PROCESSES_MAX = 16;
/** At 10,000 sockets, 4 processes each read 2,500 per tick, which keeps each well under half busy while the gateway fans out. */
const CLIENT_PROCESSES_DEFAULT = 4;

/**
 * How the services run. `production`: each its own OS process over PostgreSQL and a Kafka broker, as
 * `npm run start:cluster` runs them; `one-process`: the gateway and every subgraph in one child process, as `npm start`.
 */
export const SHAPE_NAMES = ['production', 'one-process'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

/** `uniform`: every subscriber asks for `{ value }`; `mixed`: the crowd spread evenly over the ten selections of selections.ts. */
export const CROWD_KINDS = ['uniform', 'mixed'] as const;
export type CrowdKind = (typeof CROWD_KINDS)[number];

/** `anonymous`: sockets without connectionParams (priceUpdated is public); `user`: all carry one signed-in user's token. */
export const SUBSCRIBER_AUTHS = ['anonymous', 'user'] as const;
export type SubscriberAuth = (typeof SUBSCRIBER_AUTHS)[number];

const subscriberCounts = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be subscriber counts separated by commas, e.g. 1000,5000')
  .transform((text) => text.split(',').map(Number))
  .pipe(z.array(z.number().int().min(1, 'must be at least 1').max(SUBSCRIBERS_MAX, `must be at most ${SUBSCRIBERS_MAX}`)).min(1));

/** A comma-separated list of names from `names`, each at most once. */
const nameList = <const Names extends readonly [string, ...string[]]>(names: Names, what: string) =>
  z
    .string()
    .regex(/^[a-z-]+(,[a-z-]+)*$/, `must be ${what} separated by commas, from ${names.join(', ')}`)
    .transform((text) => text.split(','))
    .pipe(
      z
        .array(z.enum(names, { message: `must be one of ${names.join(', ')}` }))
        .min(1)
        .refine((list) => new Set(list).size === list.length, `must name each of the ${what} once`),
    );

/** What the subscriptions benchmark reads from the environment, once, at its entry point. */
export const subscriptionSettingsSchema = z
  .object({
    BENCH_SUBSCRIBERS: z.string().default('1000,5000,10000').pipe(subscriberCounts),
    BENCH_TICKS: positiveInt(TICKS_DEFAULT).pipe(z.number().max(TICKS_MAX, `must be at most ${TICKS_MAX}`)),
    BENCH_TICK_PAUSE_MS: z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 or more').max(TICK_PAUSE_MS_MAX, `must be at most ${TICK_PAUSE_MS_MAX}`).default(500),
    BENCH_CONNECT_BATCH: positiveInt(200).pipe(z.number().max(CONNECT_BATCH_MAX, `must be at most ${CONNECT_BATCH_MAX}`)),
    BENCH_CLIENT_PROCESSES: positiveInt(CLIENT_PROCESSES_DEFAULT).pipe(z.number().max(CLIENT_PROCESSES_MAX, `must be at most ${CLIENT_PROCESSES_MAX}`)),
    BENCH_SHAPES: z.string().default(SHAPE_NAMES.join(',')).pipe(nameList(SHAPE_NAMES, 'shapes')),
    BENCH_CROWDS: z.string().default(CROWD_KINDS.join(',')).pipe(nameList(CROWD_KINDS, 'crowds')),
    BENCH_SUBSCRIBER_AUTH: z.enum(SUBSCRIBER_AUTHS, { message: `must be one of ${SUBSCRIBER_AUTHS.join(', ')}` }).default('anonymous'),
  })
  .transform((env) => ({
    subscriberCounts: env.BENCH_SUBSCRIBERS,
    ticks: env.BENCH_TICKS,
    tickPauseMs: env.BENCH_TICK_PAUSE_MS,
    connectBatch: env.BENCH_CONNECT_BATCH,
    clientProcesses: env.BENCH_CLIENT_PROCESSES,
    shapes: env.BENCH_SHAPES,
    crowds: env.BENCH_CROWDS,
    subscriberAuth: env.BENCH_SUBSCRIBER_AUTH,
    smoke: env.BENCH_TICKS < TICKS_DEFAULT || Math.max(...env.BENCH_SUBSCRIBERS) < SUBSCRIBERS_FULL_MIN,
  }));

export type SubscriptionSettings = z.infer<typeof subscriptionSettingsSchema>;
