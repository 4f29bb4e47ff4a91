import { type Caller, INTERNAL_CREDENTIAL_HEADER, type InternalCredential } from './auth/internal-credential.js';
import { AppError, ERROR_CODES, type ErrorCode } from './errors.js';
import { currentRequestId, REQUEST_ID_HEADER } from './request-id.js';

/**
 * Calls another service's internal routes with this service's credential. A refusal comes back as the
 * AppError the other service raised (same code and message); no answer at all (network, time-out, 5xx)
 * is UPSTREAM_UNAVAILABLE with `retriable` set, so callers can tell "no" from "don't know".
 */
export class InternalClient {
  constructor(
    private readonly baseUrl: string,
    private readonly credential: InternalCredential,
    private readonly caller: Extract<Caller, { kind: 'service' }>,
    private readonly timeoutMs: number,
  ) {}

  async post<Result>(path: string, body: unknown): Promise<Result> {
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
    if (response.ok) return parsed as Result;
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
