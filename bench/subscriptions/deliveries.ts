import { percentile } from '../ledger/closed-loop.js';
import type { TickBoard } from './ticks.js';

/** How the measured ticks of one phase reached one kind of receiver. */
export interface Deliveries {
  /** Receivers × measured ticks. */
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  /** From just before the publish to the receiver's callback, over every (receiver, tick) pair delivered. */
  latencyMs: { p50: number; p99: number; max: number };
}

/** Every subscriber of the board, over its measured ticks. */
export function subscriberDeliveries(board: TickBoard): Deliveries {
  const ticks = board.ticks.filter((tick) => tick.measured);
  const latencies = new Float64Array(ticks.length * board.subscriberCount);
  let delivered = 0;
  for (const tick of ticks) {
    for (const receivedAtMs of tick.subscriberReceivedAtMs) {
      if (!Number.isNaN(receivedAtMs)) latencies[delivered++] = receivedAtMs - tick.publishedAtMs;
    }
  }
  const duplicates = ticks.reduce((sum, tick) => sum + tick.subscriberDuplicates, 0);
  return summarise(latencies.subarray(0, delivered), ticks.length * board.subscriberCount, duplicates);
}

/** The plain kafkajs consumer, over the board's measured ticks. */
export function consumerDeliveries(board: TickBoard): Deliveries {
  const ticks = board.ticks.filter((tick) => tick.measured);
  const latencies = Float64Array.from(ticks.filter((tick) => !Number.isNaN(tick.consumerReceivedAtMs)).map((tick) => tick.consumerReceivedAtMs - tick.publishedAtMs));
  const duplicates = ticks.reduce((sum, tick) => sum + tick.consumerDuplicates, 0);
  return summarise(latencies, ticks.length, duplicates);
}

function summarise(latencies: Float64Array, expected: number, duplicates: number): Deliveries {
  const sorted = latencies.sort();
  return {
    expected,
    delivered: sorted.length,
    missing: expected - sorted.length,
    duplicates,
    latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN },
  };
}
