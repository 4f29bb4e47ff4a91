import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';
import { SHAPE_NAMES } from './shapes.js';

/** A run shorter than this is a smoke run: its numbers are kept apart and never become the latest in README.md. */
export const MEASURE_SECONDS_DEFAULT = 10;
const MEASURE_SECONDS_MAX = 600;
const WARMUP_SECONDS_MAX = 60;
const USER_COUNT_MAX = 1_000;
/** Three users at least: a hot wallet and two others, so a uniform pair is not always the same two wallets. */
const USER_COUNT_MIN = 3;
/** Above this, every client would wait on the services' pools (10 connections each) rather than measure them. */
const CLIENT_COUNT_MAX = 64;
const ROUNDS_MAX = 20;

const clientCounts = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be client counts separated by commas, e.g. 1,16')
  .transform((text) => text.split(',').map(Number))
  .pipe(z.array(z.number().int().min(1).max(CLIENT_COUNT_MAX, `must be at most ${CLIENT_COUNT_MAX}`)).min(1));

const shapes = z
  .string()
  .regex(/^[a-z-]+(,[a-z-]+)*$/, `must be shapes separated by commas, from ${SHAPE_NAMES.join(', ')}`)
  .transform((text) => text.split(','))
  .pipe(
    z
      .array(z.enum(SHAPE_NAMES, { message: `must be one of ${SHAPE_NAMES.join(', ')}` }))
      .min(1)
      .refine((names) => new Set(names).size === names.length, 'must name each shape once'),
  );

/** What the ledger benchmark reads from the environment, once, at its entry point. */
export const ledgerSettingsSchema = z
  .object({
    BENCH_SECONDS: positiveInt(MEASURE_SECONDS_DEFAULT).pipe(z.number().max(MEASURE_SECONDS_MAX, `must be at most ${MEASURE_SECONDS_MAX}`)),
    BENCH_WARMUP_SECONDS: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(WARMUP_SECONDS_MAX).default(2),
    BENCH_USERS: positiveInt(64).pipe(z.number().min(USER_COUNT_MIN).max(USER_COUNT_MAX)),
    BENCH_CLIENTS: z.string().default('1,16').pipe(clientCounts),
    BENCH_SHAPES: z.string().default(SHAPE_NAMES.join(',')).pipe(shapes),
    /** Every cell is measured once per round; rounds take turns so that the machine's drift falls on every cell alike. */
    BENCH_ROUNDS: positiveInt(3).pipe(z.number().max(ROUNDS_MAX, `must be at most ${ROUNDS_MAX}`)),
    /** Where pgbench is looked for, as a shell would. */
    PATH: z.string().default(''),
  })
  .transform((env) => ({
    measureSeconds: env.BENCH_SECONDS,
    warmupSeconds: env.BENCH_WARMUP_SECONDS,
    userCount: env.BENCH_USERS,
    clientCounts: env.BENCH_CLIENTS,
    shapes: env.BENCH_SHAPES,
    rounds: env.BENCH_ROUNDS,
    searchPath: env.PATH,
    smoke: env.BENCH_SECONDS < MEASURE_SECONDS_DEFAULT,
  }));

export type LedgerSettings = z.infer<typeof ledgerSettingsSchema>;
