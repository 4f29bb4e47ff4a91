import { z } from 'zod';
import { positiveInt } from '../../lib/config.js';

/** A cell shorter than this is a smoke run: its numbers are kept apart and never become the latest in README.md. */
export const CELL_SECONDS_DEFAULT = 10;
/** With the warm-up, under the 60 s an internal credential lives: the direct cells mint one per cell. */
const CELL_SECONDS_MAX = 45;
const WARMUP_SECONDS_MAX = 10;
const ROUNDS_MAX = 10;
/** Every connection is a socket in the load generator and in the target; the services' pools hold 10 each. */
const CONNECTIONS_MAX = 64;

/** What the gateway benchmark reads from the environment, once, at its entry point. */
export const gatewaySettingsSchema = z
  .object({
    /** Seconds measured per cell: one query against one target in one mode. */
    BENCH_GATEWAY_SECONDS: positiveInt(CELL_SECONDS_DEFAULT).pipe(z.number().max(CELL_SECONDS_MAX, `must be at most ${CELL_SECONDS_MAX}`)),
    BENCH_GATEWAY_WARMUP_SECONDS: z.coerce.number({ message: 'must be a whole number' }).int().min(0).max(WARMUP_SECONDS_MAX).default(2),
    /** Rounds per mode; each round measures every query against every target once, targets alternating. */
    BENCH_GATEWAY_ROUNDS: positiveInt(2).pipe(z.number().max(ROUNDS_MAX, `must be at most ${ROUNDS_MAX}`)),
    BENCH_GATEWAY_CONNECTIONS: positiveInt(20).pipe(z.number().max(CONNECTIONS_MAX, `must be at most ${CONNECTIONS_MAX}`)),
  })
  .transform((env) => ({
    cellSeconds: env.BENCH_GATEWAY_SECONDS,
    warmupSeconds: env.BENCH_GATEWAY_WARMUP_SECONDS,
    rounds: env.BENCH_GATEWAY_ROUNDS,
    connections: env.BENCH_GATEWAY_CONNECTIONS,
    smoke: env.BENCH_GATEWAY_SECONDS < CELL_SECONDS_DEFAULT,
  }));

export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
