/** What platform-child.ts and platform-process.ts say to each other: one JSON object per line each way. */

/** Lines the parent writes to the child's stdin. `gc` runs a full garbage collection, so memory read next is live memory. */
export type ChildCommand = 'stats' | 'gc' | 'stop';

export interface ChildStats {
  kind: 'stats';
  /** The gateway's upstream subscriptions to subgraphs: identical public subscriptions share one. */
  upstreams: number;
  memory: NodeJS.MemoryUsage;
  /** User and system CPU time of the child since it started. */
  cpuMicros: number;
  /** The child's event loop since it started, as performance.eventLoopUtilization() counts it. */
  loop: { idleMs: number; activeMs: number };
}

/** Lines the child writes to its stdout; anything else there (a library's console output) is not a message. */
export type ChildMessage =
  | { kind: 'ready'; gatewayUrl: string; metricsUrl: string; pid: number; subgraphs: string[] }
  | ChildStats
  | { kind: 'gc' }
  | { kind: 'stopped' }
  | { kind: 'error'; message: string };

/** Each subgraph's own database on the shared server: the parent creates it, the child points the subgraph at it. */
export const databaseNameOf = (subgraph: string) => `${subgraph}_service_db`;
/** The gateway's own database (its rate-limit counters), made by the parent too. */
export const GATEWAY_DATABASE = 'gateway_db';
