/** What client-processes.ts and client-worker.ts say to each other over the IPC channel (structured clone, so typed arrays pass). */

export interface ConnectCommand {
  kind: 'connect';
  /** ws://…/graphql */
  url: string;
  /** Sockets this process opens. */
  count: number;
  /** The crowd-wide index of this process's first socket, which picks each socket's selection (selections.ts). */
  firstIndex: number;
  /** 1 for a uniform crowd, 10 for a mixed one. */
  selectionCount: number;
  /** Sockets this process opens at once; the next batch waits for this one. */
  batch: number;
  /** The connection_init payload; null sends none (an anonymous subscriber). */
  connectionParams: Record<string, string> | null;
}

/** Parent to worker. `expect`: the parent is about to publish this price, so report when every open socket has it. */
export type WorkerCommand = ConnectCommand | { kind: 'expect'; value: string } | { kind: 'status' } | { kind: 'collect' } | { kind: 'dismiss' };

export interface ConnectOutcome {
  connected: number;
  /** Sockets that did not get connection_ack, by what happened instead. */
  connectFailures: Record<string, number>;
  connectSeconds: number;
}

/** Every price one socket set received, with each socket's receive time (epoch ms, NaN where it never came). */
export interface ReceivedTick {
  value: string;
  receivedAtMs: Float64Array;
  duplicates: number;
}

export interface CrowdRecord {
  ticks: ReceivedTick[];
  /** Acknowledged sockets that closed before the crowd was dismissed, by close code. */
  closeCodes: Record<string, number>;
  /** `error` messages, or `next` messages without a price, by message. */
  subscriptionErrors: Record<string, number>;
  /** Subscriptions the gateway completed before the crowd was dismissed. */
  completedEarly: number;
}

/** Worker to parent. `complete` comes unasked, once per expected price, when every socket still open has it. */
export type WorkerMessage =
  | { kind: 'ready' }
  | ({ kind: 'connected' } & ConnectOutcome)
  | { kind: 'complete'; value: string }
  | { kind: 'status'; withOne: number; open: number }
  | ({ kind: 'collected' } & CrowdRecord)
  | { kind: 'dismissed' }
  | { kind: 'failed'; message: string };
