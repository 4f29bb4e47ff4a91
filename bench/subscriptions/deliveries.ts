import { percentile } from '../ledger/closed-loop.js';
import type { CrowdRecord } from './client-protocol.js';
import type { TickBoard } from './ticks.js';

/** How the measured ticks of one phase reached one kind of receiver. */
export interface Deliveries {
  /** Receivers × measured ticks. */
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  /** From just before the publish to the receiver reading it, over every (receiver, tick) pair delivered. */
  latencyMs: { p50: number; p99: number; max: number };
}

/**
 * Every connected subscriber of the crowd, over the board's measured ticks, from what the client processes
 * recorded: a subscriber that connected and then lost its socket counts as missing what it did not get.
 */
export function subscriberDeliveries(board: TickBoard, records: CrowdRecord[], connected: number): Deliveries {
  const measured = board.ticks.filter((tick) => tick.measured);
  const latencies: number[] = [];
  let duplicates = 0;
  for (const record of records) {
    const byValue = new Map(record.ticks.map((received) => [received.value, received]));
    for (const tick of measured) {
      const received = byValue.get(tick.value);
      if (!received) continue;
      duplicates += received.duplicates;
      for (const atMs of received.receivedAtMs) if (!Number.isNaN(atMs)) latencies.push(atMs - tick.publishedAtMs);
    }
  }
  return summarise(Float64Array.from(latencies), measured.length * connected, duplicates);
}

/** Prices the client processes received that no tick of the board carried. */
export function foreignPrices(board: TickBoard, records: CrowdRecord[]): number {
  return records.reduce((sum, record) => sum + record.ticks.filter((received) => !board.has(received.value)).length, 0);
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
