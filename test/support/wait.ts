export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Says what was awaited, for the error when it never happened. */
  message: string;
}

const INTERVAL_MS_DEFAULT = 25;

/**
 * Calls `check` until it returns a value other than `undefined` or `false`, and resolves with that value;
 * rejects when `timeoutMs` passes first. A `check` that throws is treated as "not yet" (the last error is
 * reported on time-out), so it can wrap assertions or queries that fail until the event happened.
 */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, options: WaitForOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? INTERVAL_MS_DEFAULT;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${options.message}${cause}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
