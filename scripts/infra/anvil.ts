import { stopProcess } from './child-process.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Socket, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { freePort } from './ports.js';

const READY_TIMEOUT_MS = 10_000;
const READY_POLL_INTERVAL_MS = 50;
const READY_PROBE_TIMEOUT_MS = 1_000;
const STOP_TIMEOUT_MS = 5_000;
/** Lines of anvil's output kept to explain a failed start. */
const OUTPUT_TAIL_LINES = 40;

export interface StartAnvilOptions {
  /** A free port on 127.0.0.1 when not given. */
  port?: number;
  /** Mine a block every this many seconds; without it, a block per transaction (automine). */
  blockTimeSeconds?: number;
  /** Loads the chain from this file if it exists and writes it back when anvil stops (`--state`). */
  stateFile?: string;
}

export interface AnvilNode {
  rpcUrl: string;
  /** Ends anvil (SIGTERM, which also writes the state file), SIGKILL after STOP_TIMEOUT_MS. */
  stop(): Promise<void>;
}

/**
 * A local Ethereum node (anvil from `@foundry-rs/anvil`, chain id 31337) on loopback, with anvil's
 * default test accounts (mnemonic "test test ... junk"), resolved once `eth_chainId` answers.
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilNode> {
  const port = options.port ?? (await freePort());
  // The readiness probe cannot tell our anvil from another process on the port, so the port must be free.
  await requirePortFree(port);
  const args = ['--host', '127.0.0.1', '--port', String(port), '--silent'];
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds));
  if (options.stateFile !== undefined) args.push('--state', options.stateFile);

  const { child, exited, outputTail } = spawnAnvil(args);
  // Where setpriv is missing, this is what ends anvil with Node. SIGTERM: anvil outlives us briefly to
  // write its state file, as an 'exit' handler cannot wait.
  const killOnParentExit = () => child.kill('SIGTERM');
  process.on('exit', killOnParentExit);

  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(rpcUrl, exited, outputTail);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    process.off('exit', killOnParentExit);
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    rpcUrl,
    stop() {
      stopping ??= stopProcess(child, exited, STOP_TIMEOUT_MS, 'anvil').finally(() => process.off('exit', killOnParentExit));
      return stopping;
    },
  };
}

function requirePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error) => reject(new Error(`anvil cannot use port ${port} on 127.0.0.1, it is in use: ${error.message}`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function anvilBinaryPath(): string {
  const require = createRequire(import.meta.url);
  const packageJsonPath = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
  const packageJson = require(packageJsonPath) as { bin: { anvil: string } };
  return join(dirname(packageJsonPath), packageJson.bin.anvil);
}

/** util-linux's setpriv, where the system has it (Debian and Ubuntu images do). */
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];

function spawnAnvil(args: string[]) {
  // A parent killed by a signal (as test runners end their workers) runs no 'exit' handler, so the kernel
  // is asked to send anvil SIGTERM when its parent dies; setpriv sets that and then execs anvil in place.
  // SIGTERM, not SIGKILL, so anvil still writes its state file.
  const setprivPath = SETPRIV_PATHS.find((path) => existsSync(path));
  const [command, commandArgs] =
    setprivPath === undefined ? [anvilBinaryPath(), args] : [setprivPath, ['--pdeathsig', 'TERM', anvilBinaryPath(), ...args]];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A binary that cannot be started emits 'error' and no 'exit'.
    child.once('error', () => resolve(null));
  });
  const outputTail: string[] = [];
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      outputTail.push(line);
      if (outputTail.length > OUTPUT_TAIL_LINES) outputTail.shift();
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  child.once('error', (error) => onOutput(Buffer.from(String(error))));
  // anvil never keeps Node alive by itself, so a test whose teardown did not run still ends.
  child.unref();
  // Piped stdio of a child is a net.Socket, though typed as a plain stream.
  for (const stream of [child.stdout, child.stderr]) (stream as Socket | null)?.unref();
  return { child, exited, outputTail };
}

async function waitUntilReady(rpcUrl: string, exited: Promise<number | null>, outputTail: string[]): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? -1));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`anvil exited with code ${exitCode} before answering:\n${outputTail.join('\n')}`);
    }
    if (await answersChainId(rpcUrl)) return;
    // Wakes early when anvil exits, so a broken start (say, a port taken) fails at once.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS))]);
  }
  throw new Error(`anvil did not answer eth_chainId at ${rpcUrl} within ${READY_TIMEOUT_MS} ms:\n${outputTail.join('\n')}`);
}

async function answersChainId(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(READY_PROBE_TIMEOUT_MS),
    });
    const body = (await response.json()) as { result?: unknown };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}
