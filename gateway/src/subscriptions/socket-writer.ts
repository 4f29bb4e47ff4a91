import type WebSocket from 'ws';

/** WebSocket close code 1008, "policy violation": the client fell too far behind its events. */
export const SLOW_CONSUMER_CLOSE_CODE = 1008;
export const SLOW_CONSUMER_CLOSE_REASON = 'Too slow: more unsent bytes waiting than allowed';

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

  /**
   * A function that writes one serialised `next` payload for subscription `id` on `socket`; false when it did not
   * (the socket is closing, or was just closed for falling behind).
   */
  nextWriter(socket: WebSocket, id: string): (payload: string) => boolean {
    const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    return (payload) => {
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
    };
  }
}
