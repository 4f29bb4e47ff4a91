import type { ChildProcess } from 'node:child_process';

/** How long a child gets after SIGKILL before its stop counts as failed. */
const KILL_TIMEOUT_MS = 2_000;

/**
 * Stops a server we started (anvil, the Kafka broker): SIGTERM so it can shut down cleanly (anvil writes its
 * state file, Kafka closes its logs), SIGKILL if it has not exited after `stopTimeoutMs`.
 */
export async function stopProcess(child: ChildProcess, exited: Promise<unknown>, stopTimeoutMs: number, name: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await settlesWithin(exited, stopTimeoutMs)) return;
  child.kill('SIGKILL');
  if (!(await settlesWithin(exited, KILL_TIMEOUT_MS))) throw new Error(`${name} (pid ${child.pid}) did not exit after SIGKILL`);
}

/** Whether `promise` settles within `timeoutMs`. */
export async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
