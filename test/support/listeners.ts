import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';

/** Whether something accepts TCP connections at the host and port of `url`. */
export function acceptsConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The processes this one started that are still running, as `pid command` lines (`ps` itself left out). */
export function childProcesses(): string[] {
  const lines = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n');
  return lines.map((line) => line.trim()).filter((line) => line !== '' && !/\sps$/.test(line));
}

/** Ports a test holds, and every request that reached one of them. */
export interface Occupied {
  servers: Server[];
  requests: string[];
}

/**
 * Listens on each of these ports on 127.0.0.1 that is free now (one another program holds is left to it): in
 * either case the port is taken while the test runs. Each request is noted and answered 503.
 */
export async function occupy(ports: readonly number[]): Promise<Occupied> {
  const servers: Server[] = [];
  const requests: string[] = [];
  for (const port of ports) {
    const server = createServer((request, response) => {
      requests.push(`${request.method} 127.0.0.1:${port}${request.url}`);
      response.writeHead(503).end();
    });
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) servers.push(server);
  }
  return { servers, requests };
}

export async function release(occupied: Occupied | undefined): Promise<void> {
  await Promise.all((occupied?.servers ?? []).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
}
