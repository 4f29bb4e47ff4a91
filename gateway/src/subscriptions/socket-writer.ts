import type { ExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';
import type { Member } from './groups.js';

/** WebSocket close code 1008, "policy violation": the client fell too far behind its events. */
const SLOW_CONSUMER_CLOSE_CODE = 1008;
const SLOW_CONSUMER_CLOSE_REASON = 'Too slow: more unsent bytes waiting than allowed';

/**
 * Writes events to client sockets without letting a reader that stopped reading grow the gateway's memory.
 * `ws` queues whatever the kernel does not take at once (its `bufferedAmount`), without bound; graphql-ws writes
 * without looking. Before every event this looks: a socket with more than `bufferedBytesMax` still to send is
 * closed with 1008 and written to no more, so at most that bound plus one event waits for any client.
 */
export class SocketWriter {
  /** Sockets closed for falling behind, for metrics. */
  slowConsumersClosed = 0;

  constructor(private readonly bufferedBytesMax: number) {}

  /** Writes one `next` message (`prefix` names the subscription); false when it did not: the socket is closing, or just was closed. */
  write(socket: WebSocket, prefix: string, payload: string): boolean {
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > this.bufferedBytesMax) {
      this.slowConsumersClosed += 1;
      // The close frame queues behind what is waiting: a client that reads again gets its events, then 1008. One
      // that never does is dropped by ws when the closing handshake times out; nothing more is queued meanwhile.
      socket.close(SLOW_CONSUMER_CLOSE_CODE, SLOW_CONSUMER_CLOSE_REASON);
      return false;
    }
    socket.send(`${prefix}${payload}}`);
    return true;
  }
}

const DONE: IteratorResult<ExecutionResult> = { value: undefined, done: true };

/**
 * One client subscription on a socket: a member of its group, whose events it writes straight to the socket,
 * and the iterator graphql-ws holds for it. That iterator yields only the subscription's last result (an error)
 * when its group ends, after which graphql-ws sends `complete`; its `return()` (the client completed the
 * subscription or closed the socket) leaves the group at once. One object per subscriber, its methods shared:
 * with ten thousand subscribers, every closure per subscriber counts.
 */
export class SocketSubscriber implements Member, AsyncIterableIterator<ExecutionResult> {
  readonly #prefix: string;
  #leave: (() => void) | null = null;
  #waiting: ((result: IteratorResult<ExecutionResult>) => void) | null = null;
  #last: ExecutionResult | undefined;
  #finished = false;

  constructor(
    private readonly socket: WebSocket,
    id: string,
    private readonly writer: SocketWriter,
  ) {
    this.#prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  }

  /** Called once, with what leaves the group. */
  joined(leave: () => void): void {
    if (this.#finished) leave();
    else this.#leave = leave;
  }

  deliver(payload: string): boolean {
    return this.writer.write(this.socket, this.#prefix, payload);
  }

  finish(last: ExecutionResult | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#leave = null;
    this.#last = last;
    this.#settle();
  }

  #settle() {
    const waiting = this.#waiting;
    if (!waiting || !this.#finished) return;
    this.#waiting = null;
    const last = this.#last;
    this.#last = undefined;
    waiting(last ? { value: last, done: false } : DONE);
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    if (this.#finished && !this.#last) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#settle();
    });
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    const leave = this.#leave;
    this.#leave = null;
    this.#finished = true;
    this.#last = undefined;
    leave?.();
    this.#settle();
    return DONE;
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}
