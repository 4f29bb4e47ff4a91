import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { type Backoff, backoffDelayMs } from '../../lib/backoff.js';
import { settlesWithin } from '../infra/child-process.js';

/** Like compose's `restart: unless-stopped`: a quick first restart, then longer waits while the process keeps dying. */
const RESTART_BACKOFF: Backoff = { baseMs: 200, maxMs: 10_000, jitter: 0.2 };
/** A process that stayed up this long counts as having started well: its next crash restarts at the base wait again. */
const STABLE_AFTER_MS = 10_000;
/** What a service gets after SIGTERM to finish its requests and drain its outbox (its SHUTDOWN_TIMEOUT_MS is lower). */
const STOP_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 5_000;
const HEALTH_PROBE_TIMEOUT_MS = 2_000;
const HEALTH_POLL_INTERVAL_MS = 200;
/** A process that never was healthy and has died this many times in a row is broken (its settings, say), not unlucky. */
const CRASHES_BEFORE_GIVING_UP = 3;
const LOG_TAIL_LINES = 15;

/** util-linux's setpriv, where the system has it: the kernel then ends the child when the supervisor dies. */
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];

/**
 * The command and arguments that run `command` so that the kernel sends it SIGTERM when its parent dies (through
 * setpriv, which then execs it in place: same pid), where setpriv exists; else `command` as it is.
 */
export function endingWithParent(command: string, args: string[]): [string, string[]] {
  const setprivPath = SETPRIV_PATHS.find((path) => existsSync(path));
  return setprivPath === undefined ? [command, args] : [setprivPath, ['--pdeathsig', 'TERM', command, ...args]];
}

export interface ProcessSpec {
  /** How the process is named in logs and errors, e.g. `transaction#1`. */
  label: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The file its stdout and stderr are appended to. */
  logFile: string;
  /** A 200 from this URL means the process is healthy. */
  healthUrl: string;
}

/** Every supervised process alive: when Node exits, for whatever reason, they go too ('exit' handlers must be sync). */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export interface Restart {
  at: Date;
  /** How the process ended: `code 1`, `signal SIGKILL`. */
  exit: string;
}

/**
 * One long-running process, restarted with growing waits whenever it exits without being asked to, its output
 * in a log file of its own. A parent that dies takes its children with it (SIGTERM through PR_SET_PDEATHSIG).
 */
export class SupervisedProcess {
  readonly #spec: ProcessSpec;
  readonly #onRestart: (restart: Restart) => void;
  #log: FileHandle | undefined;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #crashesInARow = 0;
  #restarts = 0;
  #stopping = false;
  #everHealthy = false;

  constructor(spec: ProcessSpec, onRestart: (restart: Restart) => void) {
    this.#spec = spec;
    this.#onRestart = onRestart;
  }

  get label(): string {
    return this.#spec.label;
  }

  pid(): number | undefined {
    const child = this.#child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  restarts(): number {
    return this.#restarts;
  }

  async start(): Promise<void> {
    this.#log = await open(this.#spec.logFile, 'a');
    this.#spawn();
  }

  #spawn(): void {
    const { command, args, env, cwd } = this.#spec;
    const [file, fileArgs] = endingWithParent(command, args);
    const fd = this.#log!.fd;
    const startedAtMs = Date.now();
    this.#note(`starting ${this.#spec.label}`);
    const child = spawn(file, fileArgs, { cwd, env, stdio: ['ignore', fd, fd] });
    this.#child = child;
    liveChildren.add(child);
    this.#exited = new Promise((resolve) => {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null) => {
        if (ended) return;
        ended = true;
        liveChildren.delete(child);
        resolve();
        this.#onExit(code, signal, Date.now() - startedAtMs);
      };
      child.once('exit', end);
      // A command that cannot be started emits 'error' and no 'exit'.
      child.once('error', (error) => {
        this.#note(String(error));
        end(null, null);
      });
    });
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, upMs: number): void {
    const exit = signal ? `signal ${signal}` : `code ${code}`;
    this.#note(`${this.#spec.label} exited (${exit})`);
    if (this.#stopping) return;
    this.#crashesInARow = upMs >= STABLE_AFTER_MS ? 0 : this.#crashesInARow + 1;
    const delayMs = backoffDelayMs(Math.max(this.#crashesInARow - 1, 0), RESTART_BACKOFF);
    this.#restarts += 1;
    this.#onRestart({ at: new Date(), exit });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!this.#stopping) this.#spawn();
    }, delayMs);
  }

  /** A line of the supervisor's own in the process's log, written at once, so it stays in order with the process's lines. */
  #note(line: string): void {
    appendFileSync(this.#spec.logFile, `--- ${new Date().toISOString()} ${line}\n`);
  }

  /** Sends `signal` and resolves once the process has exited; unless stopping, the supervisor then restarts it. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const exited = this.#exited;
    if (this.pid() === undefined) return;
    this.#child!.kill(signal);
    await exited;
  }

  /**
   * Resolves once the health URL answers 200; rejects, with the end of the process's log, at the deadline or when a
   * process that never was healthy keeps dying (a setting it refuses fails the start at once, not after minutes).
   */
  async whenHealthy(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.pid() !== undefined && (await answersOk(this.#spec.healthUrl))) {
        this.#everHealthy = true;
        return;
      }
      if (this.#stopping) throw new Error(`${this.#spec.label} was stopped before it was healthy`);
      if (!this.#everHealthy && this.#crashesInARow >= CRASHES_BEFORE_GIVING_UP) throw await this.#failure(`exited ${this.#crashesInARow} times in a row while starting`);
      if (Date.now() > deadline) throw await this.#failure(`was not healthy at ${this.#spec.healthUrl} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_INTERVAL_MS));
    }
  }

  async #failure(reason: string): Promise<Error> {
    const lines = (await readFile(this.#spec.logFile, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-LOG_TAIL_LINES);
    return new Error(`${this.#spec.label} ${reason}; the end of ${this.#spec.logFile}:\n${lines.join('\n')}`);
  }

  /** From now on an exit is final: no restart. Stopping begins with this on every process, so none comes back meanwhile. */
  holdRestarts(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
  }

  /** SIGTERM, so the service drains and shuts down gracefully; SIGKILL when it has not exited within STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.holdRestarts();
    const exited = this.#exited;
    if (this.pid() !== undefined) {
      this.#child!.kill('SIGTERM');
      if (!(await settlesWithin(exited, STOP_TIMEOUT_MS))) {
        this.#child!.kill('SIGKILL');
        if (!(await settlesWithin(exited, KILL_TIMEOUT_MS))) throw new Error(`${this.#spec.label} (pid ${this.#child!.pid}) did not exit after SIGKILL`);
      }
    }
    await this.#log?.close();
    this.#log = undefined;
  }
}

/**
 * Runs a command to its end (a one-shot step such as a migration), output appended to `logFile`; rejects with the
 * exit and the log's path unless it exits with code 0 within `timeoutMs`.
 */
export async function runToCompletion(spec: Omit<ProcessSpec, 'healthUrl'>, timeoutMs: number): Promise<void> {
  const log = await open(spec.logFile, 'a');
  try {
    await log.write(`--- ${new Date().toISOString()} running ${spec.label}\n`);
    const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', log.fd, log.fd] });
    const exit = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(signal ? `signal ${signal}` : `code ${code}`);
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        resolve(String(error));
      });
    });
    if (exit !== 'code 0') throw new Error(`${spec.label} failed (${exit}); see ${spec.logFile}`);
  } finally {
    await log.close();
  }
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(HEALTH_PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
