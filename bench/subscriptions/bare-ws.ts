import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD_PATH = fileURLToPath(new URL('./bare-ws-child.ts', import.meta.url));
const LISTENING_TIMEOUT_MS = 60_000;

/** Parent to bare-ws-child.ts: write this price to every subscription. */
export type BareCommand = { kind: 'tick'; value: string };
/** bare-ws-child.ts to parent, once, when it listens. */
export type BareMessage = { kind: 'listening'; url: string };

/** The plain ws server of bare-ws-child.ts, running. */
export interface BareWebSocketServer {
  url: string;
  pid: number;
  tick(value: string): void;
  stop(): Promise<void>;
}

export async function startBareWebSocketServer(): Promise<BareWebSocketServer> {
  const child: ChildProcess = fork(CHILD_PATH, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) child.disconnect();
      else child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the plain ws server did not listen within ${LISTENING_TIMEOUT_MS / 1000} s`)), LISTENING_TIMEOUT_MS);
      child.once('message', (message: BareMessage) => {
        clearTimeout(timer);
        resolve(message.url);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the plain ws server exited (${code}) before it listened`));
      });
    });
    return { url, pid: child.pid ?? Number.NaN, tick: (value) => child.send({ kind: 'tick', value } satisfies BareCommand), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
