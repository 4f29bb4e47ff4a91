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
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [INTERNAL_CREDENTIAL_HEADER]: await this.credential.mint(this.caller), ...requestIdHeader() },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new UpstreamUnavailable(`${new URL(this.baseUrl).host} did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UpstreamUnavailable(`${new URL(this.baseUrl).host} answered ${response.status} without JSON`);
    }
    if (response.ok) return parsed;
    const refusal = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
    if (response.status < 500 && refusal && (ERROR_CODES as readonly unknown[]).includes(refusal.code) && typeof refusal.message === 'string') {
      throw new AppError(refusal.code as ErrorCode, refusal.message);
    }
    throw new UpstreamUnavailable(`${new URL(this.baseUrl).host} answered ${response.status}`);
  }
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
