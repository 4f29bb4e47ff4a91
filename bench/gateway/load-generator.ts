import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CellResult, CellSpec, LoadMessage, ParentMessage } from './load-protocol.js';

const CHILD_PATH = fileURLToPath(new URL('./load-child.ts', import.meta.url));
/** Where `--import tsx` is resolved from. */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READY_TIMEOUT_MS = 60_000;
/** Past the window, the connections' last requests are awaited; each has its own 30 s time-out. */
const RESULT_GRACE_MS = 60_000;

/** The load generator's process, one cell at a time. */
export interface LoadGenerator {
  pid: number;
  /** Runs a cell; `window` is called as the measured window starts and as it ends, to sample the targets' CPU then. */
  run(cell: CellSpec, window: { start(): void; end(): void }): Promise<CellResult>;
  stop(): Promise<void>;
}

export async function startLoadGenerator(): Promise<LoadGenerator> {
  const child = fork(CHILD_PATH, [], {
    cwd: REPOSITORY_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Structured clone, not JSON: a cell without a good answer has NaN latencies, which JSON would turn into null.
    serialization: 'advanced',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Whatever ends this process, the child goes too; 'exit' handlers may only run sync code.
  const killOnParentExit = () => child.kill('SIGKILL');
  process.on('exit', killOnParentExit);
  const stop = async () => {
    if (child.connected) child.disconnect();
    await exited;
    process.off('exit', killOnParentExit);
  };
  try {
    await nextMessage(child, exited, READY_TIMEOUT_MS, (message) => (message.kind === 'ready' ? true : undefined));
  } catch (error) {
    child.kill('SIGKILL');
    await stop();
    throw error;
  }
  return {
    pid: child.pid!,
    run(cell, window) {
      child.send({ kind: 'run', cell } satisfies ParentMessage);
      const timeoutMs = cell.warmupMs + cell.measureMs + RESULT_GRACE_MS;
      return nextMessage(child, exited, timeoutMs, (message) => {
        if (message.kind === 'window-start') window.start();
        if (message.kind === 'window-end') window.end();
        return message.kind === 'result' ? message.result : undefined;
      });
    },
    stop,
  };
}

/** Feeds the child's messages to `take` until it returns a value; an `error` message, the child's exit or the time-out reject. */
function nextMessage<T>(child: ChildProcess, exited: Promise<void>, timeoutMs: number, take: (message: LoadMessage) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
    };
    const onMessage = (message: LoadMessage) => {
      if (message.kind === 'error') {
        done();
        reject(new Error(`the load generator failed: ${message.message}`));
        return;
      }
      const value = take(message);
      if (value === undefined) return;
      done();
      resolve(value);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the load generator did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    void exited.then(() => {
      done();
      reject(new Error('the load generator exited'));
    });
  });
}
