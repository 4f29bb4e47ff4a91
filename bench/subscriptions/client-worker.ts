/**
 * One client process of the crowd (see client-processes.ts): opens its share of the sockets with plain `ws`,
 * speaks graphql-transport-ws itself (connection_init, connection_ack, subscribe, then next / error / complete,
 * and pong to every ping) and notes, for each price, when each socket received it, in epoch milliseconds
 * (performance.timeOrigin + performance.now(), comparable across the processes of one machine). A graphql-ws
 * client per socket would cost this process more than the gateway it measures. Exits when the parent closes the
 * channel or goes away.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { ConnectCommand, ConnectOutcome, CrowdRecord, WorkerCommand, WorkerMessage } from './client-protocol.js';
import { selectionOf, subscriptionDocument } from './selections.js';

/** Connecting and acknowledging one socket (token check and rate limits included), however many are in its batch. */
const CONNECT_TIMEOUT_MS = 30_000;
/** Sockets that have not closed this long after being asked to are cut off. */
const DISMISS_TIMEOUT_MS = 10_000;
const SUBSCRIPTION_ID = '1';

interface Received {
  receivedAtMs: Float64Array;
  count: number;
  duplicates: number;
  /** The parent said it published this price; `complete` goes out once. */
  expected: boolean;
  reported: boolean;
}

interface Subscriber {
  socket: WebSocket;
  valueKey: string;
  acknowledged: boolean;
  hasOne: boolean;
}

/** The sockets of the current crowd and what they received; replaced at every `connect`. */
class CrowdState {
  readonly subscribers: Subscriber[] = [];
  readonly received = new Map<string, Received>();
  readonly closeCodes: Record<string, number> = {};
  readonly subscriptionErrors: Record<string, number> = {};
  completedEarly = 0;
  open = 0;
  withOne = 0;
  dismissed = false;

  constructor(readonly size: number) {}

  receive(index: number, value: string) {
    const atMs = performance.timeOrigin + performance.now();
    let entry = this.received.get(value);
    if (!entry) {
      entry = { receivedAtMs: new Float64Array(this.size).fill(Number.NaN), count: 0, duplicates: 0, expected: false, reported: false };
      this.received.set(value, entry);
    }
    if (!Number.isNaN(entry.receivedAtMs[index] as number)) {
      entry.duplicates += 1;
      return;
    }
    entry.receivedAtMs[index] = atMs;
    entry.count += 1;
    const subscriber = this.subscribers[index];
    if (subscriber && !subscriber.hasOne) {
      subscriber.hasOne = true;
      this.withOne += 1;
    }
    this.reportIfComplete(value, entry);
  }

  expect(value: string) {
    let entry = this.received.get(value);
    if (!entry) {
      entry = { receivedAtMs: new Float64Array(this.size).fill(Number.NaN), count: 0, duplicates: 0, expected: true, reported: false };
      this.received.set(value, entry);
    }
    entry.expected = true;
    this.reportIfComplete(value, entry);
  }

  /** A socket that closed no longer holds back the prices it will never get. */
  closed() {
    for (const [value, entry] of this.received) this.reportIfComplete(value, entry);
  }

  reportIfComplete(value: string, entry: Received) {
    if (!entry.expected || entry.reported || entry.count < this.open) return;
    entry.reported = true;
    send({ kind: 'complete', value });
  }

  record(): CrowdRecord {
    return {
      ticks: [...this.received].map(([value, entry]) => ({ value, receivedAtMs: entry.receivedAtMs, duplicates: entry.duplicates })),
      closeCodes: this.closeCodes,
      subscriptionErrors: this.subscriptionErrors,
      completedEarly: this.completedEarly,
    };
  }
}

const send = (message: WorkerMessage) => process.send?.(message);
const tally = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

let crowd = new CrowdState(0);

/** Opens one socket and subscribes as soon as it is acknowledged; resolves with whether it was, or why not. */
function connectOne(command: ConnectCommand, state: CrowdState, index: number): Promise<string | null> {
  const selection = selectionOf(command.selectionCount, command.firstIndex + index);
  const socket = new WebSocket(command.url, 'graphql-transport-ws', { perMessageDeflate: false });
  const subscriber: Subscriber = { socket, valueKey: selection.valueKey, acknowledged: false, hasOne: false };
  state.subscribers[index] = subscriber;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (failure: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(failure);
    };
    const timer = setTimeout(() => {
      settle(`not acknowledged within ${CONNECT_TIMEOUT_MS} ms`);
      socket.terminate();
    }, CONNECT_TIMEOUT_MS);
    socket.on('open', () => {
      socket.send(JSON.stringify(command.connectionParams ? { type: 'connection_init', payload: command.connectionParams } : { type: 'connection_init' }));
    });
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
      switch (message.type) {
        case 'next': {
          const value = ((message.payload as { data?: { priceUpdated?: Record<string, unknown> } }).data?.priceUpdated ?? {})[subscriber.valueKey];
          if (typeof value === 'string') state.receive(index, value);
          else tally(state.subscriptionErrors, ((message.payload as { errors?: { message?: string }[] }).errors?.[0]?.message ?? 'a result without a price'));
          return;
        }
        case 'ping':
          socket.send('{"type":"pong"}');
          return;
        case 'connection_ack':
          subscriber.acknowledged = true;
          state.open += 1;
          socket.send(JSON.stringify({ id: SUBSCRIPTION_ID, type: 'subscribe', payload: { query: subscriptionDocument(selection) } }));
          settle(null);
          return;
        case 'error':
          tally(state.subscriptionErrors, (message.payload as { message?: string }[] | undefined)?.[0]?.message ?? 'the subscription failed');
          return;
        case 'complete':
          if (!state.dismissed) state.completedEarly += 1;
          return;
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(`socket error (${error.code ?? error.message})`));
    socket.on('close', (code) => {
      settle(`closed before acknowledged (${code})`);
      if (!subscriber.acknowledged) return;
      state.open -= 1;
      if (state.dismissed) return;
      tally(state.closeCodes, String(code));
      state.closed();
    });
  });
}

async function connect(command: ConnectCommand): Promise<ConnectOutcome> {
  const startedAtMs = performance.now();
  crowd = new CrowdState(command.count);
  const connectFailures: Record<string, number> = {};
  for (let first = 0; first < command.count; first += command.batch) {
    const batch = Array.from({ length: Math.min(command.batch, command.count - first) }, (_, offset) => connectOne(command, crowd, first + offset));
    for (const failure of await Promise.all(batch)) if (failure !== null) tally(connectFailures, failure);
  }
  return { connected: crowd.open, connectFailures, connectSeconds: (performance.now() - startedAtMs) / 1000 };
}

async function dismiss(): Promise<void> {
  const state = crowd;
  state.dismissed = true;
  const closing = state.subscribers.filter((subscriber) => subscriber.socket.readyState !== WebSocket.CLOSED);
  const closed = Promise.all(closing.map((subscriber) => new Promise<void>((resolve) => subscriber.socket.once('close', () => resolve()))));
  for (const subscriber of closing) subscriber.socket.close(1000);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, DISMISS_TIMEOUT_MS)))]);
  clearTimeout(timer);
  for (const subscriber of closing) subscriber.socket.terminate();
}

async function answer(command: WorkerCommand): Promise<void> {
  switch (command.kind) {
    case 'connect':
      return void send({ kind: 'connected', ...(await connect(command)) });
    case 'expect':
      return crowd.expect(command.value);
    case 'status':
      return void send({ kind: 'status', withOne: crowd.withOne, open: crowd.open });
    case 'collect':
      return void send({ kind: 'collected', ...crowd.record() });
    case 'dismiss':
      await dismiss();
      return void send({ kind: 'dismissed' });
  }
}

if (!process.send) throw new Error('client-worker.ts runs as a child process with an IPC channel (see client-processes.ts)');
process.on('message', (command: WorkerCommand) => {
  answer(command).catch((error: unknown) => send({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }));
});
process.once('disconnect', () => process.exit(0));
send({ kind: 'ready' });
