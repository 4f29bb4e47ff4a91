import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

/** The full run; fewer operations make a smoke run, written apart and never the latest in README.md. */
export const OPERATION_COUNT_DEFAULT = 10_000;
const OPERATION_COUNT_MAX = 100_000;
const IN_FLIGHT_MAX = 64;
const ROUNDS_MAX = 5;

/** What the fault benchmark reads from the environment, once, at its entry point. */
export const faultSettingsSchema = z
  .object({
    BENCH_FAULT_OPERATIONS: positiveInt(OPERATION_COUNT_DEFAULT).pipe(z.number().max(OPERATION_COUNT_MAX, `must be at most ${OPERATION_COUNT_MAX}`)),
    BENCH_FAULT_IN_FLIGHT: positiveInt(32).pipe(z.number().max(IN_FLIGHT_MAX, `must be at most ${IN_FLIGHT_MAX}`)),
    /** How many times each kind of fault strikes. */
    BENCH_FAULT_ROUNDS: positiveInt(2).pipe(z.number().max(ROUNDS_MAX, `must be at most ${ROUNDS_MAX}`)),
  })
  .transform((env) => ({
    operationCount: env.BENCH_FAULT_OPERATIONS,
    inFlightMax: env.BENCH_FAULT_IN_FLIGHT,
    rounds: env.BENCH_FAULT_ROUNDS,
    smoke: env.BENCH_FAULT_OPERATIONS < OPERATION_COUNT_DEFAULT,
  }));

export type FaultSettings = z.infer<typeof faultSettingsSchema>;
