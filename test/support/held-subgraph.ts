import { createServer, type IncomingHttpHeaders } from 'node:http';
import { INTERNAL_CREDENTIAL_HEADER } from '../../lib/auth/internal-credential.js';
import { readBody } from '../../lib/server/http.js';

/** How held requests are answered once released. */
export type Release = 'forward' | 'hang-up' | { status: number; body: string };

export interface HeldSubgraph {
  /** Its /graphql, to give the gateway in place of the subgraph's. */
  url: string;
  /** The GraphQL requests that reached it (since the last `hold()`), in order. */
  received: { headers: IncomingHttpHeaders; body: string }[];
  /** Forgets what was received, and keeps every GraphQL request from now on unanswered until `release`. */
  hold(): void;
  /** Answers every held request, and every one after it at once: passed on to the subgraph, refused, or cut off. */
  release(how?: Release): void;
  stop(): Promise<void>;
}

const FORWARDED_HEADERS = ['content-type', INTERNAL_CREDENTIAL_HEADER, 'x-request-id'];

/**
 * A proxy on loopback in front of a subgraph (`target`, its /graphql; none for one that only answers as released),
 * which counts what the gateway really sends and can keep it waiting: the one way to know how many fetches
 * requests in flight at the same moment made. Anything but a POST to /graphql (the gateway's account check) is
 * passed on at once and not counted.
 */
export async function heldSubgraph(target?: string): Promise<HeldSubgraph> {
  let holding = false;
  let released: Release = 'forward';
  const received: HeldSubgraph['received'] = [];
  const waiting: (() => void)[] = [];

  const server = createServer(async (request, response) => {
    const path = request.url ?? '/';
    const method = request.method ?? 'GET';
    const body = await readBody(request);
    const hangUp = () => request.socket.destroy();
    async function answer(how: Release) {
      if (how === 'hang-up') return hangUp();
      if (how !== 'forward') return response.writeHead(how.status, { 'content-type': 'application/json' }).end(how.body);
      if (!target) throw new Error('a held subgraph without a target answers only as released');
      const headers = Object.fromEntries(FORWARDED_HEADERS.flatMap((name) => (typeof request.headers[name] === 'string' ? [[name, request.headers[name]]] : [])));
      const upstream = await fetch(new URL(path, target), { method, headers, body: method === 'POST' ? body : undefined });
      response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(await upstream.text());
    }
    const run = (how: Release) => void answer(how).catch(hangUp);
    if (method !== 'POST' || path !== '/graphql') return run('forward');
    received.push({ headers: request.headers, body });
    if (holding) waiting.push(() => run(released));
    else run(released);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the held subgraph has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}/graphql`,
    received,
    hold() {
      holding = true;
      received.length = 0;
    },
    release(how = 'forward') {
      holding = false;
      released = how;
      for (const run of waiting.splice(0)) run();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
