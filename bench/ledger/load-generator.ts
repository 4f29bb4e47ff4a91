import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BenchUser } from './accounts.js';
import type { LoadResult } from './closed-loop.js';
import type { CpuPart } from './process-cpu.js';
import type { WalletPattern } from './wallet-patterns.js';

/** Where one cell sends its transfers: the path's name, its URL, and for `direct` the secret credentials are minted with. */
export type PathSpec = { name: 'gateway'; url: string } | { name: 'direct'; url: string; gatewaySecret: string };

export interface CellSpec {
  clients: number;
  warmupMs: number;
  measureMs: number;
  pattern: WalletPattern;
  path: PathSpec;
  users: BenchUser[];
  /** The processes whose CPU time is read as the measured window opens and as it closes (this one's too, if listed). */
  cpuParts: CpuPart[];
}

/** One cell's outcome: the clients' result, and each part's CPU milliseconds between the two readings. */
export interface CellOutcome {
  result: LoadResult;
  cpuMs: Record<string, number>;
  /** Wall time between the two readings. */
  cpuSeconds: number;
}

/** What the parent sends the load generator process. */
export type GeneratorCommand = { kind: 'cell'; cell: CellSpec };

/** What the load generator process sends back: ready once, then per cell both window edges and the result (or why it failed). */
export type GeneratorMessage =
  | { kind: 'ready' }
  | { kind: 'window'; edge: 'start' | 'end' }
  | { kind: 'result'; outcome: CellOutcome }
  | { kind: 'failed'; message: string };

export interface LoadGenerator {
  pid: number;
  /** Runs one cell; `onWindowEdge` is told (late by the IPC hop) as its measured window opens and closes. */
  run(cell: CellSpec, onWindowEdge: (edge: 'start' | 'end') => void): Promise<CellOutcome>;
  stop(): Promise<void>;
}

const CHILD_PATH = fileURLToPath(new URL('./load-generator-child.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

/**
 * The closed-loop clients in a Node process of their own, so that they never share a thread (or a CPU reading)
 * with the services they measure: with the services in this process (one-process shape) they would compete for
 * its one JavaScript thread. The child reads every process's CPU time itself, at the very edges of its window:
 * told over IPC, this process (busy with the services in the one-process shape) would read them late, and on a
 * loaded machine both readings could fall at nearly the same moment. Messages go over the IPC channel with
 * structured clone, which keeps typed arrays. The child exits when the channel closes, so it never outlives this
 * process.
 */
export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child = fork(CHILD_PATH, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await nextMessage(child, exited, READY_TIMEOUT_MS, 'ready');
  const pid = child.pid;
  if (pid === undefined) throw new Error('the load generator process has no pid');
  let busy = false;
  return {
    pid,
    async run(cell, onWindowEdge) {
      if (busy) throw new Error('the load generator runs one cell at a time');
      busy = true;
      const onMessage = (message: GeneratorMessage) => {
        if (message.kind === 'window') onWindowEdge(message.edge);
      };
      child.on('message', onMessage);
      try {
        child.send({ kind: 'cell', cell } satisfies GeneratorCommand);
        const timeoutMs = cell.warmupMs + cell.measureMs + READY_TIMEOUT_MS;
        const answer = await nextMessage(child, exited, timeoutMs, 'result', 'failed');
        if (answer.kind === 'failed') throw new Error(`the load generator failed: ${answer.message}`);
        if (answer.kind !== 'result') throw new Error(`the load generator answered ${answer.kind}`);
        return answer.outcome;
      } finally {
        child.off('message', onMessage);
        busy = false;
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.disconnect();
      await exited;
    },
  };
}

/** The next message of one of `kinds`; rejects when the process exits first or nothing comes within `timeoutMs`. */
function nextMessage(child: ChildProcess, exited: Promise<void>, timeoutMs: number, ...kinds: GeneratorMessage['kind'][]): Promise<GeneratorMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new Error(`no ${kinds.join(' or ')} from the load generator within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = (message: GeneratorMessage) => {
      if (kinds.includes(message.kind)) finish(() => resolve(message));
    };
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      settle();
    };
    child.on('message', onMessage);
    void exited.then(() => finish(() => reject(new Error(`the load generator exited (${child.signalCode ?? `code ${child.exitCode}`})`))));
  });
}
