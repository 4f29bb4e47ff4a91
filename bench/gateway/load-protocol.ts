import type { QueryName } from './queries.js';

/** One cell: one query sent to one target by `connections` closed loops. */
export interface CellSpec {
  url: string;
  query: QueryName;
  /** `direct`: the query's one-subgraph part, sent straight to that subgraph. */
  path: 'gateway' | 'direct';
  headers: Record<string, string>;
  connections: number;
  warmupMs: number;
  measureMs: number;
}

export interface CellResult {
  /** Answers that finished inside the window and passed every check. */
  succeeded: number;
  perSecond: number;
  latencyMs: { p50: number; p99: number };
  /** Every good answer's latency, ascending, so rounds can be merged. */
  latenciesMs: number[];
  /** Answers inside the window that failed a check, by kind, with the first one's detail. */
  failures: Record<string, { count: number; example: string }>;
  /** The load generator's own CPU time during the window. */
  cpuSeconds: number;
  eventLoopUtilization: number;
}

export type ParentMessage = { kind: 'run'; cell: CellSpec };

export type LoadMessage =
  | { kind: 'ready' }
  | { kind: 'window-start' }
  | { kind: 'window-end' }
  | { kind: 'result'; result: CellResult }
  | { kind: 'error'; message: string };
