import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** What one measured window gave. */
export interface LoadResult {
  clients: number;
  measuredSeconds: number;
  /** Requests that finished inside the window with the outcome `successOutcome`. */
  succeeded: number;
  perSecond: number;
  /** Over the successful requests that finished inside the window. */
  latencyMs: { p50: number; p99: number };
  /** Those latencies themselves, ascending, so that windows of the same cell can be pooled. */
  sortedLatenciesMs: Float64Array;
  /** Every other outcome that finished inside the window, by outcome. */
  failures: Record<string, number>;
  /** CPU time of this whole process (the load generator, and whatever else runs in it) per second of the window, in percent of one core. */
  processCpuPercent: number;
  /** How busy this process's JavaScript thread was, 0 to 1; near 1 it is the bottleneck, not PostgreSQL. */
  eventLoopUtilization: number;
}

export interface LoadOptions {
  clients: number;
  warmupMs: number;
  measureMs: number;
  successOutcome: string;
  /** One request; resolves with its outcome and never rejects. */
  request(): Promise<string>;
  /** Told as the measured window opens and as it closes, e.g. to read other processes' CPU time over it. */
  onWindowEdge?(edge: 'start' | 'end'): void;
}

/** A million samples (8 MB) is over 30 minutes at 500 requests per second; past it, latencies stop being kept. */
const LATENCY_SAMPLES_MAX = 1_000_000;

/**
 * A closed loop: each client sends one request, awaits the answer, and sends the next, from the start of the
 * warm-up to the end of the window. Only requests that finish inside the window count; requests still in
 * flight at its end are awaited so the next run starts on a quiet system, and are not counted.
 */
export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const latenciesMs = new Float64Array(LATENCY_SAMPLES_MAX);
  let latencyCount = 0;
  let succeeded = 0;
  const failures: Record<string, number> = {};
  const startMs = performance.now();
  const windowStartMs = startMs + options.warmupMs;
  const windowEndMs = windowStartMs + options.measureMs;

  async function client() {
    while (performance.now() < windowEndMs) {
      const sentMs = performance.now();
      const outcome = await options.request();
      const answeredMs = performance.now();
      if (answeredMs < windowStartMs || answeredMs > windowEndMs) continue;
      if (outcome !== options.successOutcome) {
        failures[outcome] = (failures[outcome] ?? 0) + 1;
        continue;
      }
      succeeded += 1;
      if (latencyCount < LATENCY_SAMPLES_MAX) latenciesMs[latencyCount++] = answeredMs - sentMs;
    }
  }

  const clients = Promise.all(Array.from({ length: options.clients }, client));
  await sleep(Math.max(0, windowStartMs - performance.now()));
  options.onWindowEdge?.('start');
  const cpuAtStart = process.cpuUsage();
  const loopAtStart = performance.eventLoopUtilization();
  await sleep(Math.max(0, windowEndMs - performance.now()));
  const cpu = process.cpuUsage(cpuAtStart);
  const loop = performance.eventLoopUtilization(loopAtStart);
  options.onWindowEdge?.('end');
  await clients;

  const measuredSeconds = options.measureMs / 1000;
  const sorted = latenciesMs.subarray(0, latencyCount).sort();
  return {
    clients: options.clients,
    measuredSeconds,
    succeeded,
    perSecond: succeeded / measuredSeconds,
    latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) },
    sortedLatenciesMs: sorted.slice(),
    failures,
    processCpuPercent: ((cpu.user + cpu.system) / 1000 / options.measureMs) * 100,
    eventLoopUtilization: loop.utilization,
  };
}

/** Nearest-rank percentile of ascending values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
