import { type Caller, INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from './auth/internal-credential.js';
import { z } from 'zod';
import { AppError, ERROR_CODES, type ErrorCode } from './errors.js';
import type { InternalCall, RequestOf, ResponseOf } from './internal-contract.js';
import { KeptAlivePoster, type PostAnswer } from './kept-alive-post.js';
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
    let answer: PostAnswer;
    try {
      const headers = { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint(this.caller), ...requestIdHeader() };
      answer = await poster.post(new URL(path, this.baseUrl), headers, JSON.stringify(body), this.timeoutMs);
    } catch (error) {
      throw new UpstreamUnavailable(`${host} did not answer: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
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
const poster = new KeptAlivePoster(SOCKETS_PER_SERVICE_MAX, ANSWER_BYTES_MAX);

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
