import { setTimeout as sleep } from 'node:timers/promises';

/** Whether `promise` settled within `timeoutMs`; it goes on either way. */
export async function settlesWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks `condition` every `intervalMs` until it holds or `timeoutMs` has passed; resolves with whether it held. */
export async function holdsWithin(condition: () => Promise<boolean>, timeoutMs: number, intervalMs: number): Promise<boolean> {
  const deadlineMs = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() >= deadlineMs) return false;
    await sleep(intervalMs);
  }
}
