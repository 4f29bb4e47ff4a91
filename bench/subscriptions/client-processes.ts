import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConnectOutcome, CrowdRecord, WorkerCommand, WorkerMessage } from './client-protocol.js';

const WORKER_PATH = fileURLToPath(new URL('./client-worker.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
/** Opening 10,000 sockets in batches through a gateway that checks a token and a rate limit for each. */
const CONNECT_TIMEOUT_MS = 600_000;
/** A status or a record: the worker answers between socket reads; a record of 20 ticks × 2,500 sockets is 400 KB. */
const ANSWER_TIMEOUT_MS = 60_000;
/** Closing the sockets is bounded in the worker (10 s), then they are cut off. */
const DISMISS_TIMEOUT_MS = 30_000;

interface Worker {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
}

/** A crowd spread over the client processes; per process, its part of the crowd-wide indices. */
export interface ClientCrowd {
  requested: number;
  connected: number;
  connectFailures: Record<string, number>;
  connectSeconds: number;
}

/**
 * The crowd's sockets in `count` Node processes of their own (child_process.fork), so that reading them is not
 * one thread's work: with one client process, the last of 10,000 sockets waits for the 9,999 before it to be
 * read, and the client, not the gateway, sets the p99. Each process opens an even share of the crowd and
 * reports, per price, when each of its sockets received it. The processes exit when this one closes their IPC
 * channel or goes away.
 */
export class ClientProcesses {
  /** Called when every process has reported a price complete (every one of its open sockets has it). */
  onComplete: (value: string) => void = () => {};
  readonly #workers: Worker[];
  readonly #completions = new Map<string, number>();

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    for (const worker of workers) {
      worker.child.on('message', (message: WorkerMessage) => {
        if (message.kind !== 'complete') return;
        const reported = (this.#completions.get(message.value) ?? 0) + 1;
        this.#completions.set(message.value, reported);
        if (reported === this.#workers.length) this.onComplete(message.value);
      });
    }
  }

  static async start(count: number): Promise<ClientProcesses> {
    const workers: Worker[] = [];
    try {
      for (let index = 0; index < count; index += 1) {
        const child = fork(WORKER_PATH, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        workers.push({ child, pid: child.pid ?? Number.NaN, exited });
      }
      await Promise.all(workers.map((worker) => nextMessage(worker, READY_TIMEOUT_MS, 'ready')));
      return new ClientProcesses(workers);
    } catch (error) {
      await Promise.all(workers.map((worker) => stopWorker(worker)));
      throw error;
    }
  }

  get pids(): number[] {
    return this.#workers.map((worker) => worker.pid);
  }

  /** Opens `count` sockets, an even share in each process, each process `batch` / processes at a time. */
  async gather(options: { url: string; count: number; selectionCount: number; batch: number; connectionParams: Record<string, string> | null }): Promise<ClientCrowd> {
    const processes = this.#workers.length;
    const batch = Math.max(1, Math.ceil(options.batch / processes));
    let firstIndex = 0;
    const outcomes = await Promise.all(
      this.#workers.map((worker, index) => {
        const share = Math.floor(options.count / processes) + (index < options.count % processes ? 1 : 0);
        const command: WorkerCommand = { kind: 'connect', url: options.url, count: share, firstIndex, selectionCount: options.selectionCount, batch, connectionParams: options.connectionParams };
        firstIndex += share;
        return ask(worker, command, CONNECT_TIMEOUT_MS, 'connected') as Promise<ConnectOutcome>;
      }),
    );
    const connectFailures: Record<string, number> = {};
    for (const outcome of outcomes) for (const [failure, times] of Object.entries(outcome.connectFailures)) connectFailures[failure] = (connectFailures[failure] ?? 0) + times;
    return {
      requested: options.count,
      connected: outcomes.reduce((sum, outcome) => sum + outcome.connected, 0),
      connectFailures,
      connectSeconds: Math.max(...outcomes.map((outcome) => outcome.connectSeconds)),
    };
  }

  /** Tells every process the price about to be published; onComplete follows once all have it on every open socket. */
  expect(value: string): void {
    for (const worker of this.#workers) worker.child.send({ kind: 'expect', value } satisfies WorkerCommand);
  }

  /** Subscribers that have received at least one price, over every process. */
  async subscribersWithOne(): Promise<number> {
    const statuses = await Promise.all(this.#workers.map((worker) => ask(worker, { kind: 'status' }, ANSWER_TIMEOUT_MS, 'status')));
    return statuses.reduce((sum, status) => sum + (status as { withOne: number }).withOne, 0);
  }

  /** What each process received, in process order (its sockets' crowd-wide indices follow on from the process before). */
  async collect(): Promise<CrowdRecord[]> {
    return (await Promise.all(this.#workers.map((worker) => ask(worker, { kind: 'collect' }, ANSWER_TIMEOUT_MS, 'collected')))) as CrowdRecord[];
  }

  async dismiss(): Promise<void> {
    this.#completions.clear();
    await Promise.all(this.#workers.map((worker) => ask(worker, { kind: 'dismiss' }, DISMISS_TIMEOUT_MS, 'dismissed')));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => stopWorker(worker)));
  }
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  if (worker.child.connected) worker.child.disconnect();
  else worker.child.kill('SIGTERM');
  await worker.exited;
}

function ask(worker: Worker, command: WorkerCommand, timeoutMs: number, kind: WorkerMessage['kind']): Promise<WorkerMessage> {
  const answered = nextMessage(worker, timeoutMs, kind);
  worker.child.send(command);
  return answered;
}

/** The next message of `kind` (or `failed`, which rejects); rejects when the process exits first or nothing comes within `timeoutMs`. */
function nextMessage(worker: Worker, timeoutMs: number, kind: WorkerMessage['kind']): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`client process ${worker.pid} sent no ${kind} within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = (message: WorkerMessage) => {
      if (message.kind === kind) finish(() => resolve(message));
      else if (message.kind === 'failed') finish(() => reject(new Error(`client process ${worker.pid} failed: ${message.message}`)));
    };
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.child.off('message', onMessage);
      settle();
    };
    worker.child.on('message', onMessage);
    void worker.exited.then(() => finish(() => reject(new Error(`client process ${worker.pid} exited (${worker.child.signalCode ?? `code ${worker.child.exitCode}`})`))));
  });
}
