/** Stops on SIGTERM/SIGINT, finishing in-flight work first; a second signal exits at once. */
export function stopOnSignals(server: { stop(): Promise<void> }): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`${signal}: stopping\n`);
    // `stop()` is bounded by SHUTDOWN_TIMEOUT_MS (boundedStop): past it, whatever is still running is cut off here.
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export class ShutdownTimeoutError extends Error {
  override readonly name = 'ShutdownTimeoutError';
}

/**
 * A stop that runs once and settles within `timeoutMs`: it rejects with ShutdownTimeoutError when the graceful
 * stop has not finished by then, so a stuck request or broker can never keep a process from exiting.
 */
export function boundedStop(stop: () => Promise<void>, timeoutMs: number): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ShutdownTimeoutError(`graceful stop took longer than ${timeoutMs} ms`)), timeoutMs);
      stop().then(resolve, reject).finally(() => clearTimeout(timer));
    });
    return stopping;
  };
}

/** HTTP requests get half of the shutdown bound to finish; the rest is for the outbox's last drain and disconnects. */
export const drainGraceMs = (shutdownTimeoutMs: number): number => Math.floor(shutdownTimeoutMs / 2);
