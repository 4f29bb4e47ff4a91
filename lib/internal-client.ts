import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type Caller, INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from './auth/internal-credential.js';
import { z } from 'zod';
import { AppError, ERROR_CODES, type ErrorCode } from './errors.js';
import type { InternalCall, RequestOf, ResponseOf } from './internal-contract.js';
import type { Logger } from './log.js';
import { currentRequestId, REQUEST_ID_HEADER } from './request-id.js';

/**
 * Calls another service's internal routes with this service's credential, each by its contract
 * (lib/internal-contract.ts). A refusal comes back as the AppError the other service raised (same code and
 * message); no answer at all (network, time-out, 5xx) or an answer its contract refuses is
 * UPSTREAM_UNAVAILABLE with `retriable` set, so callers can tell "no" from "don't know".
 */
export class InternalClient {
  constructor(
    private readonly baseUrl: string,
    private readonly credential: InternalCredential,
    private readonly caller: Extract<Caller, { kind: 'service' }>,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** The call's answer, parsed by its contract. */
  async call<Call extends InternalCall<z.ZodType, z.ZodType>>(call: Call, body: RequestOf<Call>): Promise<ResponseOf<Call>> {
    const answer = await this.post(call.path, body);
    const parsed = call.response.safeParse(answer);
    if (parsed.success) return parsed.data as ResponseOf<Call>;
    const host = new URL(this.baseUrl).host;
    this.log.warn({ path: call.path, host, issues: z.prettifyError(parsed.error) }, 'an internal answer breaks its contract; taken as no answer');
    throw new UpstreamUnavailable(`${host} answered ${call.path} with what its contract refuses`);
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    const host = new URL(this.baseUrl).host;
    let answer: { status: number; text: string };
    try {
      const headers = { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint(this.caller), ...requestIdHeader() };
      answer = await postJson(new URL(path, this.baseUrl), headers, JSON.stringify(body), this.timeoutMs);
    } catch (error) {
      throw new UpstreamUnavailable(`${host} did not answer: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw new UpstreamUnavailable(`${host} answered ${answer.status} without JSON`);
    }
    if (answer.status >= 200 && answer.status < 300) return parsed;
    const refusal = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
    if (answer.status < 500 && refusal && (ERROR_CODES as readonly unknown[]).includes(refusal.code) && typeof refusal.message === 'string') {
      throw new AppError(refusal.code as ErrorCode, refusal.message);
    }
    throw new UpstreamUnavailable(`${host} answered ${answer.status}`);
  }
}

/** Internal answers are small (a posting's entries at most); a bigger one is refused rather than buffered. */
const ANSWER_BYTES_MAX = 1024 * 1024;
/** Sockets kept per service and process: more calls than this in flight wait their turn. */
const SOCKETS_PER_SERVICE_MAX = 64;
/**
 * An idle socket is closed after this long, before the other side's Node server closes it (its keep-alive
 * time-out is 5 s by default), so a call is not sent down a socket the server is closing.
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;
const agentOptions = { keepAlive: true, maxSockets: SOCKETS_PER_SERVICE_MAX, timeout: IDLE_SOCKET_TIMEOUT_MS };
const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };

/**
 * One POST over node:http with a kept-alive socket, the whole exchange bounded by `timeoutMs`. Not fetch:
 * its web streams (the request body cloned, the answer read through a ReadableStream) cost more CPU than
 * the rest of a short internal call.
 */
function postJson(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const [send, agent] = url.protocol === 'https:' ? [httpsRequest, agents.https] : [httpRequest, agents.http];
  return new Promise((resolve, reject) => {
    const request = send(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > ANSWER_BYTES_MAX) request.destroy(new Error(`answer larger than ${ANSWER_BYTES_MAX} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', reject);
    request.on('close', () => clearTimeout(timer));
    request.end(body);
  });
}

/** The request this call serves, so the other service's log lines and events carry its id too. */
function requestIdHeader(): Record<string, string> {
  const requestId = currentRequestId();
  return requestId ? { [REQUEST_ID_HEADER]: requestId } : {};
}

export class UpstreamUnavailable extends AppError {
  readonly retriable = true;
  constructor(detail: string) {
    super('UPSTREAM_UNAVAILABLE', 'A service this needs is unavailable; try again shortly');
    this.cause = detail;
  }
}
