import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApolloServer, type BaseContext, HeaderMap } from '@apollo/server';
import { AppError, badInput } from '../errors.js';
import type { Logger } from '../log.js';
import { newRequestId, REQUEST_ID_HEADER, runWithRequestId, validRequestId } from '../request-id.js';

/** Bodies above this are refused before they are read in full (a GraphQL document and variables fit easily). */
export const REQUEST_BODY_BYTES_MAX = 1024 * 1024;

export class PayloadTooLargeError extends Error {}

export function readBody(request: IncomingMessage, bytesMax = REQUEST_BODY_BYTES_MAX): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > bytesMax) return Promise.reject(new PayloadTooLargeError(`request body over ${bytesMax} bytes`));
  // Stream events, not `for await`: the async iterator costs more CPU than the rest of reading a small body.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= bytesMax) return void chunks.push(chunk);
      // Nothing more is read: the connection goes, as a refused upload should not keep sending.
      request.destroy();
      reject(new PayloadTooLargeError(`request body over ${bytesMax} bytes`));
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** A GraphQL-shaped error answer for requests refused before they reach Apollo (no credential, body too large). */
export function sendGraphQLError(response: ServerResponse, error: AppError): void {
  sendJson(response, error.httpStatus, { errors: [{ message: error.message, extensions: { code: error.code } }] });
}

export function toHeaderMap(request: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** Parses a JSON body, or refuses with BAD_USER_INPUT; an empty body is `undefined` (GET requests). */
export function parseJsonBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw badInput('Request body is not valid JSON');
  }
}

/** Runs one HTTP request through Apollo Server (no framework: node:http is all we need) and writes its answer. */
export async function handleGraphQLHttp<Context extends BaseContext>(
  apollo: ApolloServer<Context>,
  request: IncomingMessage,
  response: ServerResponse,
  context: () => Promise<Context>,
): Promise<void> {
  let body: unknown;
  try {
    const contentType = request.headers['content-type'] ?? '';
    const text = await readBody(request);
    body = contentType.includes('application/json') ? parseJsonBody(text) : text;
  } catch (error) {
    if (error instanceof PayloadTooLargeError) return sendGraphQLError(response, new AppError('BAD_USER_INPUT', `Request body is larger than ${REQUEST_BODY_BYTES_MAX} bytes`));
    if (error instanceof AppError) return sendGraphQLError(response, error);
    throw error;
  }
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method ?? 'GET', headers: toHeaderMap(request), search: searchOf(request.url ?? '/'), body },
    context,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of result.headers) headers[name] = value;
  response.writeHead(result.status ?? 200, headers);
  if (result.body.kind === 'complete') {
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

/** The query string of a request target, `?` included when there is one: Apollo reads it with URLSearchParams. */
function searchOf(target: string): string {
  const start = target.indexOf('?');
  return start === -1 ? '' : target.slice(start);
}

/**
 * Serves `handle` on `server` and resolves with the bound port. A handler that throws is a bug: it is logged,
 * and the client gets INTERNAL without details (or a closed connection if the answer had already started).
 */
export async function listen(
  server: Server,
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  options: { host: string; port: number; log: Logger },
): Promise<number> {
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const requestId = requestIdOf(request);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    runWithRequestId(requestId, () => handle(request, response)).catch((error: unknown) => {
      options.log.error({ err: error }, 'request failed');
      if (!response.headersSent) sendJson(response, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL' } }] });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

const requestIds = new WeakMap<IncomingMessage, string>();

/**
 * The caller's request id when it is a sane token, else a new one (the same one for the whole request); it follows
 * the request into logs, subgraphs, internal calls and events, and goes back in the response's `x-request-id`.
 */
export function requestIdOf(request: IncomingMessage): string {
  let requestId = requestIds.get(request);
  if (!requestId) {
    requestId = validRequestId(request.headers[REQUEST_ID_HEADER]) ?? newRequestId();
    requestIds.set(request, requestId);
  }
  return requestId;
}
