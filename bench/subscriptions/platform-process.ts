import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildMessage, ChildStats } from './platform-protocol.js';

const CHILD_PATH = fileURLToPath(new URL('./platform-child.ts', import.meta.url));
/** tsx is resolved from here, and the services find their migrations and the supergraph relative to their own files. */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Migrating three databases and compiling the services with tsx on a busy 2-core machine. */
const READY_TIMEOUT_MS = 180_000;
/** A full garbage collection of a heap holding 5,000 subscriptions takes well under a second. */
const COMMAND_TIMEOUT_MS = 30_000;
/** The gateway closes its sockets and drains HTTP (10 s grace), then the subgraphs stop. */
const STOP_TIMEOUT_MS = 30_000;
const OUTPUT_TAIL_LINES = 40;

/** The settings the child reads; see platform-child.ts. */
export interface PlatformChildSettings {
  KAFKA_BROKERS: string;
  KAFKA_TOPIC_PREFIX: string;
  JWT_SECRET: string;
  GATEWAY_SECRET: string;
  BENCH_POSTGRES_URL: string;
  ETH_RPC_URL: string;
  CONTRACT_ADDRESSES: string;
}

/** The subgraphs and the gateway running in a child process, and how to ask it about itself. */
export interface PlatformProcess {
  gatewayUrl: string;
  /** The gateway's Prometheus endpoint. */
  metricsUrl: string;
  pid: number;
  /** The subgraphs running beside the gateway, in start order. */
  subgraphs: string[];
  stats(): Promise<ChildStats>;
  /** A full garbage collection in the child, so that memory read next is what is still in use. */
  collectGarbage(): Promise<void>;
  /** The child's resident set, from /proc/<pid>/status (VmRSS). */
  residentBytes(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPlatformProcess(settings: PlatformChildSettings): Promise<PlatformProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD_PATH], {
    cwd: REPOSITORY_ROOT,
    env: { ...process.env, ...settings },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Whatever ends this process, the child goes too; 'exit' handlers may only run sync code.
  const killOnParentExit = () => child.kill('SIGKILL');
  process.on('exit', killOnParentExit);
  const outputTail = tailOf(child);
  const messages = messagesOf(child, outputTail);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end('stop\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killOnParentExit);
    })();
    return stopping;
  };

  try {
    const ready = await messages.next('ready', READY_TIMEOUT_MS, exited);
    const pid = ready.pid;
    // One command at a time: each answer is the next message of its kind.
    let queue: Promise<unknown> = Promise.resolve();
    const ask = <Kind extends ChildMessage['kind']>(command: ChildCommand, kind: Kind) => {
      const asked = queue.then(() => {
        child.stdin.write(`${command}\n`);
        return messages.next(kind, COMMAND_TIMEOUT_MS, exited);
      });
      queue = asked.catch(() => {});
      return asked;
    };
    return {
      gatewayUrl: ready.gatewayUrl,
      metricsUrl: ready.metricsUrl,
      pid,
      subgraphs: ready.subgraphs,
      stats: () => ask('stats', 'stats'),
      collectGarbage: async () => {
        await ask('gc', 'gc');
      },
      residentBytes: () => residentBytesOf(pid),
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nlast output of the platform process:\n${outputTail.join('\n')}`, { cause: error });
  }
}

/** The child's messages by kind, in order; an `error` message or the child's exit fails whoever is waiting. */
function messagesOf(child: ChildProcessWithoutNullStreams, outputTail: string[]) {
  const waiting: { kind: ChildMessage['kind']; resolve: (message: ChildMessage) => void; reject: (error: Error) => void }[] = [];
  const failAll = (error: Error) => {
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: ChildMessage;
    try {
      message = JSON.parse(line) as ChildMessage;
    } catch {
      remember(outputTail, line);
      return;
    }
    if (message.kind === 'error') return failAll(new Error(`the platform process reported: ${message.message}`));
    const index = waiting.findIndex((waiter) => waiter.kind === message.kind);
    if (index !== -1) waiting.splice(index, 1)[0]?.resolve(message);
  });
  return {
    next<Kind extends ChildMessage['kind']>(kind: Kind, timeoutMs: number, exited: Promise<number | null>): Promise<Extract<ChildMessage, { kind: Kind }>> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the platform process sent no ${kind} within ${timeoutMs} ms`)), timeoutMs);
        const settle = <Value>(then: (value: Value) => void) => (value: Value) => {
          clearTimeout(timer);
          then(value);
        };
        waiting.push({ kind, resolve: settle((message) => resolve(message as Extract<ChildMessage, { kind: Kind }>)), reject: settle(reject) });
        void exited.then((code) => failAll(new Error(`the platform process exited (code ${code}) while ${kind} was awaited`)));
      });
    },
  };
}

function tailOf(child: ChildProcessWithoutNullStreams): string[] {
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => remember(tail, line));
  return tail;
}

function remember(tail: string[], line: string) {
  tail.push(line);
  if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
}

export async function residentBytesOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (!kilobytes) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kilobytes) * 1024;
}
