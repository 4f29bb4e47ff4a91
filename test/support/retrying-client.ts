/**
 * A GraphQL client that behaves as a careful client of a money API does while the platform is failing: a
 * request without a definitive answer (no connection, a time-out, an HTTP 5xx page from the load balancer,
 * UPSTREAM_UNAVAILABLE) is sent again, unchanged, with the same idempotency key, after a bounded back-off,
 * until a definitive answer comes or the total wait runs out. Every answer is recorded under its key, so a
 * check can see that all the answers one key ever got describe one outcome.
 */
import { backoffDelayMs } from '../../lib/backoff.js';
import type { GraphQLResult } from './stack.js';

/** One request's wait for an answer; a gateway that lost its upstream mid-request answers well within it. */
const REQUEST_TIMEOUT_MS = 20_000;
const RETRY_BACKOFF = { baseMs: 50, maxMs: 1_000, jitter: 0.5 };
/** How long one call keeps trying before it reports NO_ANSWER: longer than any fault of the matrix takes to mend. */
export const RETRY_WAIT_MAX_MS = 120_000;

/** Codes that say nothing about the outcome: the request may or may not have been carried out. */
const UNDECIDED_CODES = new Set(['UPSTREAM_UNAVAILABLE', 'INTERNAL', 'INTERNAL_SERVER_ERROR', 'NETWORK_ERROR', 'TIMEOUT', 'BAD_RESPONSE']);

export interface Answer {
  /** Milliseconds since the epoch, when the attempt was sent and answered. */
  sentAt: number;
  answeredAt: number;
  httpStatus: number;
  /** The first error's code, or null when the mutation answered a transaction. */
  code: string | null;
  transactionId: string | null;
  transactionStatus: string | null;
  definitive: boolean;
}

const syntheticResult = (code: string, message: string): GraphQLResult => ({ status: 0, errors: [{ message, extensions: { code } }] });

/** Sends once; a failure of the transport becomes a result with a code of its own rather than an exception. */
async function sendOnce(url: string, query: string, variables: Record<string, unknown>, token: string | undefined): Promise<GraphQLResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return syntheticResult(timedOut ? 'TIMEOUT' : 'NETWORK_ERROR', String(error));
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    return syntheticResult('NETWORK_ERROR', String(error));
  }
  try {
    return { status: response.status, ...(JSON.parse(text) as Omit<GraphQLResult, 'status'>) };
  } catch {
    // HAProxy's 503 page when no gateway is up, or a connection cut half-way through the body.
    return { ...syntheticResult('BAD_RESPONSE', `HTTP ${response.status}: ${text.slice(0, 200)}`), status: response.status };
  }
}

const codeOf = (result: GraphQLResult) => (result.errors?.[0]?.extensions?.code as string | undefined) ?? (result.errors?.length ? 'NO_CODE' : null);

/** A mutation's transaction, when the answer carries one (as data, or as the transactionId of a refusal). */
function transactionOf(result: GraphQLResult): { id: string | null; status: string | null } {
  const field = Object.values(result.data ?? {})[0] as { id?: unknown; status?: unknown } | null | undefined;
  if (field && typeof field.id === 'string') return { id: field.id, status: typeof field.status === 'string' ? field.status : null };
  const refused = result.errors?.[0]?.extensions?.transactionId;
  return { id: typeof refused === 'string' ? refused : null, status: null };
}

/**
 * Whether an answer settles the request. A refusal that names its transaction is one, whatever its code: the
 * transaction was recorded FAILED (a FAILED with UPSTREAM_UNAVAILABLE is the answer every replay will get).
 */
export function isDefinitive(result: GraphQLResult): boolean {
  const code = codeOf(result);
  if (code === null) return result.status > 0 && result.status < 500;
  return transactionOf(result).id !== null || !UNDECIDED_CODES.has(code);
}

export class RetryingClient {
  /** Every answer each idempotency key got, in order. */
  readonly answers = new Map<string, Answer[]>();
  /** Attempts after the first, by the code that made the client try again. */
  readonly retriesByCode: Record<string, number> = {};
  /** Calls that gave up after RETRY_WAIT_MAX_MS without a definitive answer. */
  unanswered = 0;
  #completionWaiters: { after: number; resolve: (at: number) => void }[] = [];

  constructor(private readonly url: string) {}

  get retries(): number {
    return Object.values(this.retriesByCode).reduce((sum, count) => sum + count, 0);
  }

  /** The same shape as Stack.graphql, so the bank workload runs over it unchanged. */
  graphql = async <Data = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GraphQLResult<Data>> => {
    const key = typeof variables.key === 'string' ? variables.key : null;
    const deadline = Date.now() + RETRY_WAIT_MAX_MS;
    for (let attempt = 0; ; attempt += 1) {
      const sentAt = Date.now();
      const result = await sendOnce(this.url, query, variables, token);
      const answer = this.#record(key, sentAt, result);
      if (answer.definitive) return result as GraphQLResult<Data>;
      const code = answer.code ?? `HTTP ${answer.httpStatus}`;
      if (Date.now() >= deadline) {
        this.unanswered += 1;
        return { ...result, errors: [{ message: `no definitive answer within ${RETRY_WAIT_MAX_MS} ms; last: ${code}`, extensions: { code: 'NO_ANSWER' } }] } as GraphQLResult<Data>;
      }
      this.retriesByCode[code] = (this.retriesByCode[code] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(Math.min(attempt, 10), RETRY_BACKOFF)));
    }
  };

  /**
   * Resolves with the time of the first money mutation sent after `after` (ms since the epoch) that completed:
   * how the matrix tells a fault is mended, as a customer would.
   */
  nextCompletion(after: number): Promise<number> {
    return new Promise((resolve) => this.#completionWaiters.push({ after, resolve }));
  }

  #record(key: string | null, sentAt: number, result: GraphQLResult): Answer {
    const transaction = transactionOf(result);
    const answer: Answer = {
      sentAt,
      answeredAt: Date.now(),
      httpStatus: result.status,
      code: codeOf(result),
      transactionId: transaction.id,
      transactionStatus: transaction.status,
      definitive: isDefinitive(result),
    };
    if (key === null) return answer;
    this.answers.set(key, [...(this.answers.get(key) ?? []), answer]);
    if (answer.transactionStatus === 'COMPLETED') {
      const due = this.#completionWaiters.filter((waiter) => sentAt >= waiter.after);
      this.#completionWaiters = this.#completionWaiters.filter((waiter) => sentAt < waiter.after);
      for (const waiter of due) waiter.resolve(answer.answeredAt);
    }
    return answer;
  }
}

/**
 * Keys whose definitive answers disagree: two transaction ids, or a COMPLETED and a refusal. A PENDING answer
 * agrees with the COMPLETED or FAILED that follows it for the same transaction.
 */
export function disagreeingKeys(answers: ReadonlyMap<string, readonly Answer[]>): { key: string; answers: string[] }[] {
  const outcomeOf = (answer: Answer) => (answer.transactionStatus === 'PENDING' ? null : (answer.transactionStatus ?? answer.code));
  return [...answers].flatMap(([key, list]) => {
    const definitive = list.filter((answer) => answer.definitive);
    const ids = new Set(definitive.map((answer) => answer.transactionId).filter((id) => id !== null));
    const outcomes = new Set(definitive.map(outcomeOf).filter((outcome) => outcome !== null));
    const refusalsWithout = definitive.some((answer) => answer.transactionId === null) && ids.size > 0;
    return ids.size > 1 || outcomes.size > 1 || refusalsWithout ? [{ key, answers: definitive.map((answer) => `${answer.transactionId ?? '-'} ${outcomeOf(answer) ?? 'PENDING'}`) }] : [];
  });
}
