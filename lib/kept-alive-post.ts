import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface PostAnswer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * An idle socket is closed after this long, before the other side's Node server closes it (its keep-alive time-out
 * is 5 s by default), so a request is not sent down a socket the server is closing.
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * POSTs over node:http with kept-alive sockets, each whole exchange (the answer's body too) bounded by a time-out:
 * the gateway's subgraph fetches and the services' internal calls. Not fetch: its web streams (the request body
 * cloned, the answer read through a ReadableStream), its Request and Response objects and an AbortSignal.timeout
 * per call cost more CPU than the rest of a short call.
 */
export class KeptAlivePoster {
  readonly #agents: { http: HttpAgent; https: HttpsAgent };

  constructor(
    /** Sockets kept per destination and process: more requests than this in flight wait their turn. */
    socketsMax: number,
    /** An answer larger than this is cut off as an error; unset, any size is read. */
    private readonly answerBytesMax = Number.POSITIVE_INFINITY,
  ) {
    const options = { keepAlive: true, maxSockets: socketsMax, timeout: IDLE_SOCKET_TIMEOUT_MS };
    this.#agents = { http: new HttpAgent(options), https: new HttpsAgent(options) };
  }

  post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostAnswer> {
    const [send, agent] = url.protocol === 'https:' ? [httpsRequest, this.#agents.https] : [httpRequest, this.#agents.http];
    return new Promise((resolve, reject) => {
      const request = send(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > this.answerBytesMax) request.destroy(new Error(`answer larger than ${this.answerBytesMax} bytes`));
          else chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      });
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      request.on('error', reject);
      request.on('close', () => clearTimeout(timer));
      request.end(body);
    });
  }
}
