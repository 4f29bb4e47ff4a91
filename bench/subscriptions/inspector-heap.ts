import WebSocket from 'ws';

/** A full collection of a heap holding 10,000 subscriptions, on a busy machine. */
const INSPECTOR_TIMEOUT_MS = 30_000;

/**
 * The V8 heap in use of a Node process started with `--inspect=127.0.0.1:0`, after a full garbage collection,
 * asked over the inspector protocol (HeapProfiler.collectGarbage, twice: the first pass may leave garbage only its
 * finalizers made unreachable; then Runtime.getHeapUsage). The process needs no hook of its own for it; the
 * session is opened for the reading and closed after it.
 */
export async function heapUsedAfterFullGc(debuggerUrl: string): Promise<number> {
  const signal = AbortSignal.timeout(INSPECTOR_TIMEOUT_MS);
  const socket = new WebSocket(debuggerUrl, { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const call = inspectorCaller(socket, signal);
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = (await call('Runtime.getHeapUsage')) as { usedSize?: number };
    if (typeof usage.usedSize !== 'number') throw new Error('Runtime.getHeapUsage answered without usedSize');
    return usage.usedSize;
  } finally {
    socket.close();
  }
}

function inspectorCaller(socket: WebSocket, signal: AbortSignal) {
  let lastId = 0;
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`inspector: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  const failAll = (error: Error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  socket.once('close', () => failAll(new Error('the inspector session closed')));
  signal.addEventListener('abort', () => failAll(new Error(`the inspector did not answer within ${INSPECTOR_TIMEOUT_MS} ms`)), { once: true });
  return (method: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error(`the inspector did not answer within ${INSPECTOR_TIMEOUT_MS} ms`));
      lastId += 1;
      pending.set(lastId, { resolve, reject });
      socket.send(JSON.stringify({ id: lastId, method }));
    });
}

/**
 * Where a process's inspector listens, from what Node prints to its stderr on start (`Debugger listening on
 * ws://…`): with port 0 the system picks a free one, which nothing else can have taken meanwhile. The last such
 * line counts (a restarted process appends to the same log).
 */
export function debuggerUrlIn(log: string): string | undefined {
  return [...log.matchAll(/^Debugger listening on (ws:\/\/\S+)$/gm)].at(-1)?.[1];
}
