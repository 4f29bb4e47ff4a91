import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer; `delayMs` longer than the client's time-out makes a time-out. */
export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: string;
  delayMs?: number;
}

export interface FakeCoinGecko {
  baseUrl: string;
  /** Answers for the next requests, in order; when they run out, `fallback` answers. */
  script(...answers: ScriptedAnswer[]): void;
  fallback: (path: string) => ScriptedAnswer;
  requests: { path: string; headers: IncomingHttpHeaders; atMs: number }[];
  stop(): Promise<void>;
}

/** CoinGecko's /simple/price answer for the given USD prices, with last_updated_at in seconds. */
export function simplePriceBody(prices: Record<string, { usd?: unknown; last_updated_at?: unknown }>): string {
  return JSON.stringify(prices);
}

/** CoinGecko's rate-limit answer (HTTP 429). */
export const RATE_LIMITED_BODY = JSON.stringify({
  status: { error_code: 429, error_message: "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits." },
});

/**
 * A local HTTP server that answers the way CoinGecko's API v3 does (same paths, bodies, status codes and
 * headers), scripted by the test, including its failures.
 */
export async function startFakeCoinGecko(): Promise<FakeCoinGecko> {
  const queue: ScriptedAnswer[] = [];
  const fake: FakeCoinGecko = {
    baseUrl: '',
    script: (...answers) => void queue.push(...answers),
    fallback: () => ({ status: 404, body: JSON.stringify({ error: 'Not found' }) }),
    requests: [],
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    fake.requests.push({ path, headers: request.headers, atMs: Date.now() });
    const answer = queue.shift() ?? fake.fallback(path);
    const send = () => {
      if (response.destroyed) return;
      response.writeHead(answer.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
      response.end(answer.body);
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
  return fake;
}
