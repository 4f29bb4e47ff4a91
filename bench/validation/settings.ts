import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

/** A round shorter than this is a smoke run: its numbers are kept apart and never become the latest in README.md. */
export const ROUND_SECONDS_DEFAULT = 5;
const ROUND_SECONDS_MAX = 120;
const ROUNDS_MAX = 20;
const CONNECTIONS_MAX = 64;
const REPEATS_MAX = 1_000;

/** What the validation benchmark reads from the environment, once, at its entry point. */
export const validationSettingsSchema = z
  .object({
    /** Seconds of each `me` round; rounds alternate limits on and off. */
    BENCH_VALIDATION_ROUND_SECONDS: positiveInt(ROUND_SECONDS_DEFAULT).pipe(z.number().max(ROUND_SECONDS_MAX)),
    BENCH_VALIDATION_ROUNDS: positiveInt(3).pipe(z.number().max(ROUNDS_MAX)),
    BENCH_VALIDATION_CONNECTIONS: positiveInt(20).pipe(z.number().max(CONNECTIONS_MAX)),
    /** Times each 64 KB document is checked (in process and through the gateway); the worst is reported. */
    BENCH_VALIDATION_REPEATS: positiveInt(20).pipe(z.number().max(REPEATS_MAX)),
  })
  .transform((env) => ({
    roundSeconds: env.BENCH_VALIDATION_ROUND_SECONDS,
    rounds: env.BENCH_VALIDATION_ROUNDS,
    connections: env.BENCH_VALIDATION_CONNECTIONS,
    repeats: env.BENCH_VALIDATION_REPEATS,
    smoke: env.BENCH_VALIDATION_ROUND_SECONDS < ROUND_SECONDS_DEFAULT,
  }));

export type ValidationSettings = z.infer<typeof validationSettingsSchema>;
